/*
 * jobctl-spawner: the small, long-lived process that starts the daemon's jobs.
 *
 * Why it exists: Node's child_process forks the whole daemon (tens of MB of page tables to copy) and
 * can run no code between fork and exec, so a job had to start through a /bin/sh trampoline that
 * joined the cgroups and then exec'd env(1) to set the exact environment: three execs per job. Here
 * one fork of a ~1 MB process does it all before a single execve of the user's command:
 *   setsid, join every cgroup (the command's first instruction already runs inside them), chdir,
 *   stdin from /dev/null, stdout/stderr to fresh pipes, execvp with exactly the job's environment.
 * See docs/ARCHITECTURE.md ("Starting a job") and src/jobs/spawner.ts (the daemon's side).
 *
 * Wire protocol, host byte order (both ends run on the same machine), one daemon on the other end:
 *   stdin  (requests): u32 length of the rest, u32 type, u32 token, then
 *     SPAWN  (1): u32 nProcs, u32 nArgv, u32 nEnv, then NUL-terminated strings:
 *                 cwd, procs files…, argv…, env entries "NAME=VALUE"…
 *     OPENED (2): nothing — the daemon holds its own read ends of the job's pipes now (it opened
 *                 /proc/<spawner>/fd/N), so the spawner closes its copies.
 *   stdout (events): six i32 each — type, token, pid, a, b, c:
 *     SPAWNED (1): a, b = the spawner's fds of the stdout / stderr read ends (to open through /proc)
 *     STARTED (2): the execve succeeded: the command runs, inside its cgroups
 *     FAILED  (3): a = stage, b = errno, c = index (of the procs file for STAGE_JOIN); pid 0 when no
 *                  process was made; otherwise the process has exited by itself (EXITED follows)
 *     EXITED  (4): a = the raw wait status
 * stdin at EOF means the daemon is gone: exit. The kernel also kills us when the daemon dies
 * (PR_SET_PDEATHSIG); the jobs are then orphaned and the next daemon start cleans them up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* close_range(2) is Linux 5.9; headers older than that lack the number (the same, 436, everywhere). */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

enum { REQ_SPAWN = 1, REQ_OPENED = 2 };
enum { EV_SPAWNED = 1, EV_STARTED = 2, EV_FAILED = 3, EV_EXITED = 4 };
enum { STAGE_PIPE = 1, STAGE_FORK = 2, STAGE_JOIN = 3, STAGE_CWD = 4, STAGE_STDIO = 5, STAGE_EXEC = 6, STAGE_REQUEST = 7 };

/* A request larger than this is a bug on the daemon's side (it keeps argv + env far below). */
#define MAX_REQUEST (8u << 20)

/* A job's stdout pipe holds this much instead of the kernel's 64 KiB: a fast producer then fills
   it while the daemon commits, and the daemon takes it in reads of up to this size (fewer wakeups
   and reads per byte; docs/BENCHMARKS.md "Ingest"). Enlarged pipes count against the user's
   pipe-user-pages-soft (64 MiB by default), past which the kernel gives EVERY new pipe of the user
   just two pages: so only this many jobs at a time get one (16 MiB, a quarter of the default). */
#define BIG_PIPE_BYTES (256 << 10)
#define MAX_BIG_PIPES 64

extern char **environ;

struct job {
  int32_t token;
  pid_t pid;
  int status_fd; /* read end of the child's CLOEXEC status pipe until STARTED/FAILED is known */
  int out_r, err_r; /* our copies of the output read ends, until the daemon says OPENED */
  int exited;
  int big_pipe; /* its stdout pipe was enlarged (counted in big_pipes until it exits) */
};

static int big_pipes;

static struct job *jobs;
static size_t njobs, capjobs;

static void die(const char *what) {
  fprintf(stderr, "jobctl-spawner: %s: %s\n", what, strerror(errno));
  _exit(2);
}

static void emit(int32_t type, int32_t token, int32_t pid, int32_t a, int32_t b, int32_t c) {
  int32_t ev[6] = {type, token, pid, a, b, c};
  const char *p = (const char *)ev;
  size_t left = sizeof ev;
  while (left > 0) {
    ssize_t n = write(1, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(errno == EPIPE ? 0 : 2); /* the daemon is gone */
    p += n;
    left -= (size_t)n;
  }
}

static void close_if(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* The live entry of pid: an exited one may linger (until OPENED) while the kernel reuses its pid. */
static struct job *find_pid(pid_t pid) {
  for (size_t i = 0; i < njobs; i++)
    if (jobs[i].pid == pid && !jobs[i].exited) return &jobs[i];
  return NULL;
}

static struct job *find_token(int32_t token) {
  for (size_t i = 0; i < njobs; i++)
    if (jobs[i].token == token) return &jobs[i];
  return NULL;
}

/* Drops entries that have nothing left to report or hold. */
static void compact(void) {
  size_t w = 0;
  for (size_t r = 0; r < njobs; r++) {
    struct job *j = &jobs[r];
    if (j->exited && j->status_fd < 0 && j->out_r < 0 && j->err_r < 0) continue;
    jobs[w++] = *j;
  }
  njobs = w;
}

/* What the child writes to its status pipe when it cannot run the command. */
struct failure {
  int32_t stage, err, index;
};

static void child_fail(int status_w, int stage, int err, int index, int code) {
  struct failure f = {stage, err, index};
  ssize_t n = write(status_w, &f, sizeof f);
  (void)n;
  _exit(code);
}

/* In the forked child: everything between fork and exec. Never returns. */
static void child(pid_t spawner, int status_w, int out_w, int err_w, const char *cwd, char **procs, uint32_t nprocs, char **argv, char **envp) {
  /* Should the spawner die while this child is still joining its cgroups (a v1 write can take
     tens of ms), the daemon could find the cgroup empty, remove nothing and never learn of this
     process: so it dies with the spawner until the exec. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != spawner) _exit(125);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Its own session: a terminal's Ctrl-C to the daemon never reaches it, and without cgroups the
     process group is the handle a stop uses. */
  setsid();
  char pid[24];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (uint32_t i = 0; i < nprocs; i++) {
    int fd = open(procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) child_fail(status_w, STAGE_JOIN, errno, (int)i, 125);
    ssize_t n = write(fd, pid, (size_t)len);
    if (n != len) child_fail(status_w, STAGE_JOIN, n < 0 ? errno : EIO, (int)i, 125);
    close(fd);
  }
  if (chdir(cwd) != 0) child_fail(status_w, STAGE_CWD, errno, 0, 126);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  /* dup2 clears FD_CLOEXEC on the copy: 0, 1 and 2 are the only descriptors the command inherits
     (every other one of ours is CLOEXEC). */
  if (null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) child_fail(status_w, STAGE_STDIO, errno, 0, 126);
  /* The death signal survives execve: the command must not die with the spawner (the daemon kills
     a job through its cgroup when it must). */
  if (prctl(PR_SET_PDEATHSIG, 0) != 0) child_fail(status_w, STAGE_STDIO, errno, 0, 126);
  /* execvp searches the PATH of the environment it runs with: the job's, as env(1) would. */
  environ = envp;
  execvp(argv[0], argv);
  child_fail(status_w, STAGE_EXEC, errno, 0, errno == ENOENT ? 127 : 126);
}

/* Splits n NUL-terminated strings off *p (bounded by end) into out[]; 0 when they do not fit. */
static int take_strings(char **p, const char *end, char **out, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const char *nul = memchr(*p, '\0', (size_t)(end - *p));
    if (!nul) return 0;
    out[i] = *p;
    *p = (char *)nul + 1;
  }
  return 1;
}

static void spawn(int32_t token, char *body, uint32_t size) {
  uint32_t counts[3];
  if (size < sizeof counts) {
    emit(EV_FAILED, token, 0, STAGE_REQUEST, EINVAL, 0);
    return;
  }
  memcpy(counts, body, sizeof counts);
  uint32_t nprocs = counts[0], nargv = counts[1], nenv = counts[2];
  char *p = body + sizeof counts;
  const char *end = body + size;
  /* Each string takes at least its NUL, so valid counts are bounded by the size. */
  if (nargv == 0 || (uint64_t)1 + nprocs + nargv + nenv > size) {
    emit(EV_FAILED, token, 0, STAGE_REQUEST, EINVAL, 0);
    return;
  }
  char **strs = calloc((size_t)1 + nprocs + nargv + 1 + nenv + 1, sizeof(char *));
  if (!strs) die("calloc");
  char **procs = strs + 1, **argv = procs + nprocs, **envp = argv + nargv + 1;
  if (!take_strings(&p, end, strs, 1) || !take_strings(&p, end, procs, nprocs) || !take_strings(&p, end, argv, nargv) ||
      !take_strings(&p, end, envp, nenv) || p != end) {
    free(strs);
    emit(EV_FAILED, token, 0, STAGE_REQUEST, EINVAL, 0);
    return;
  }
  int status[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(status, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    for (int i = 0; i < 2; i++) {
      close_if(&status[i]);
      close_if(&out[i]);
      close_if(&err[i]);
    }
    free(strs);
    emit(EV_FAILED, token, 0, STAGE_PIPE, e, 0);
    return;
  }
  /* Best effort: refused (EPERM over the user's limit, EBUSY) means the default size. */
  int big = big_pipes < MAX_BIG_PIPES && fcntl(out[1], F_SETPIPE_SZ, BIG_PIPE_BYTES) >= 0;
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid == 0) child(self, status[1], out[1], err[1], strs[0], procs, nprocs, argv, envp);
  int e = errno;
  free(strs);
  close(status[1]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(status[0]);
    close(out[0]);
    close(err[0]);
    emit(EV_FAILED, token, 0, STAGE_FORK, e, 0);
    return;
  }
  if (njobs == capjobs) {
    capjobs = capjobs ? capjobs * 2 : 64;
    jobs = realloc(jobs, capjobs * sizeof *jobs);
    if (!jobs) die("realloc");
  }
  big_pipes += big;
  jobs[njobs++] = (struct job){token, pid, status[0], out[0], err[0], 0, big};
  emit(EV_SPAWNED, token, pid, out[0], err[0], 0);
}

/* The child's status pipe is readable: either a failure record, or EOF because execve succeeded. */
static void settle_status(struct job *j) {
  struct failure f;
  ssize_t n;
  do n = read(j->status_fd, &f, sizeof f);
  while (n < 0 && errno == EINTR);
  if (n == 0) emit(EV_STARTED, j->token, j->pid, 0, 0, 0); /* CLOEXEC closed it: execve succeeded */
  else if (n == (ssize_t)sizeof f) emit(EV_FAILED, j->token, j->pid, f.stage, f.err, f.index);
  else emit(EV_FAILED, j->token, j->pid, STAGE_EXEC, n < 0 ? errno : EIO, 0);
  close_if(&j->status_fd);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    struct job *j = find_pid(pid);
    if (!j) continue;
    /* STARTED or FAILED always comes before EXITED: the status pipe is final once the child is dead. */
    if (j->status_fd >= 0) settle_status(j);
    emit(EV_EXITED, j->token, pid, status, 0, 0);
    j->exited = 1;
    /* The pipe may live on in a daemonised child until the daemon kills it: close enough. */
    big_pipes -= j->big_pipe;
    j->big_pipe = 0;
  }
}

static void handle_request(char *frame, uint32_t size) {
  uint32_t head[2];
  if (size < sizeof head) {
    fprintf(stderr, "jobctl-spawner: request of %u bytes is too short\n", size);
    _exit(2);
  }
  memcpy(head, frame, sizeof head);
  int32_t token = (int32_t)head[1];
  if (head[0] == REQ_SPAWN) {
    spawn(token, frame + sizeof head, size - (uint32_t)sizeof head);
  } else if (head[0] == REQ_OPENED) {
    struct job *j = find_token(token);
    if (j) {
      close_if(&j->out_r);
      close_if(&j->err_r);
    }
  } else {
    fprintf(stderr, "jobctl-spawner: unknown request type %u\n", head[0]);
    _exit(2);
  }
}

int main(int argc, char **argv) {
  /* Die with the daemon; argv[1] is its pid, to catch a daemon that died before the prctl. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl");
  if (argc > 1 && getppid() != (pid_t)atol(argv[1])) return 0;
  /* Nothing inherited beyond the two pipes and stderr may reach a job. */
  if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
    for (int fd = 3; fd < 1024; fd++) close(fd);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) != 0) die("sigprocmask");
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  if (fcntl(0, F_SETFD, FD_CLOEXEC) != 0 || fcntl(1, F_SETFD, FD_CLOEXEC) != 0) die("fcntl");

  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  struct pollfd *pfds = NULL;
  size_t cappfds = 0;
  if (!buf) die("malloc");
  for (;;) {
    if (cappfds < njobs + 2) {
      cappfds = (njobs + 2) * 2;
      pfds = realloc(pfds, cappfds * sizeof *pfds);
      if (!pfds) die("realloc");
    }
    size_t n = 0;
    pfds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (size_t i = 0; i < njobs; i++)
      if (jobs[i].status_fd >= 0) pfds[n++] = (struct pollfd){.fd = jobs[i].status_fd, .events = POLLIN};
    if (poll(pfds, n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    /* Status pipes first, so that a job's STARTED goes out before its EXITED. */
    for (size_t i = 2; i < n; i++) {
      if (!pfds[i].revents) continue;
      for (size_t k = 0; k < njobs; k++)
        if (jobs[k].status_fd == pfds[i].fd) {
          settle_status(&jobs[k]);
          break;
        }
    }
    if (pfds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      reap();
    }
    if (pfds[0].revents) {
      if (cap - len < 1 << 16) {
        cap *= 2;
        buf = realloc(buf, cap);
        if (!buf) die("realloc");
      }
      ssize_t got = read(0, buf + len, cap - len);
      if (got < 0 && errno != EINTR && errno != EAGAIN) die("read");
      if (got == 0) return 0; /* the daemon closed its end */
      if (got > 0) len += (size_t)got;
      size_t off = 0;
      while (len - off >= 4) {
        uint32_t size;
        memcpy(&size, buf + off, 4);
        if (size > MAX_REQUEST) {
          fprintf(stderr, "jobctl-spawner: request of %u bytes is over the %u-byte limit\n", size, MAX_REQUEST);
          _exit(2);
        }
        if (len - off - 4 < size) {
          if (cap < (size_t)size + 4) {
            cap = (size_t)size + 4 + (1 << 16);
            buf = realloc(buf, cap);
            if (!buf) die("realloc");
          }
          break;
        }
        handle_request(buf + off + 4, size);
        off += 4 + (size_t)size;
      }
      memmove(buf, buf + off, len - off);
      len -= off;
    }
    compact();
  }
}
