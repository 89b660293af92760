// The tools compared, each behind one small interface: jobctl (its real bin/jobctl and daemon), pm2
// (installed by npm into a temporary prefix, its own PM2_HOME), task-spooler (tsp) and nq (Debian
// packages, installed with apt-get when missing). Each gets temp dirs of its own; stop() kills its
// daemon and every job it still runs.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cgroupInstanceName } from '../../src/home/paths.ts';
import { removeInstanceLeftovers } from '../lib/cgroups.ts';
import { cleanEnv, killTracked, now, onCleanup, progress, REPO, run, runOk, sleep, spawnTracked, tempDir, until } from './lib.ts';

/** pm2's version, pinned: the figures are for this one. */
export const PM2_VERSION = '7.0.4';

/** A submitted job, as each tool names it. */
export interface JobRef {
  id: string;
  /** nq: the job's output file (its name is the job id); pm2: the log file. */
  file?: string;
  /** nq: the job's PID (in its file name). */
  pid?: number;
}

/** What every tool under comparison offers the scenarios. */
export interface Peer {
  readonly name: string;
  /** Version text for the report. */
  version: string;
  /** Starts the tool's daemon (if it has one) in a fresh home. */
  start(): Promise<void>;
  /** Kills the daemon and every job; removes nothing that cleanup does not. */
  stop(): Promise<void>;
  /** The tool's "run a command" CLI call, timed from spawn to exit. `queue` names a separate queue (nq runs one job at a time per queue). */
  submit(argv: string[], opts?: { queue?: string }): Promise<{ ref: JobRef; ms: number }>;
  /** Until the job has ended. */
  wait(ref: JobRef): Promise<void>;
  /** The tool's follow command for a job (`logs -f`, `tsp -t`, `fq`, `pm2 logs`). */
  follower(ref: JobRef): { file: string; args: string[]; env: NodeJS.ProcessEnv };
  /** Ends a running job (SIGTERM, no grace). */
  kill(ref: JobRef): Promise<void>;
  /** The daemon's PID, when the tool has a daemon. */
  daemonPid(): number | null;
}

/** Finds a program on PATH; absolute paths are used with every tool (pm2 resolves names its own way). */
export function which(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

// ---- jobctl ---------------------------------------------------------------------------------------

const JOBCTL = join(REPO, 'bin', 'jobctl');

/** jobctl: a daemon of its own on 127.0.0.1:0 with config.json as given. */
export class JobctlPeer implements Peer {
  readonly name = 'jobctl';
  version = '';
  home = '';
  private daemon: ChildProcess | null = null;
  private readonly env = cleanEnv({ JOBCTL_NO_AUTOSTART: '1' });
  private readonly config: Record<string, unknown>;

  constructor(config: Record<string, unknown> = { logCap: '2G' }) {
    this.config = config;
  }

  /** argv (for node) of `jobctl --home HOME ARGS`. */
  args(a: string[]): string[] {
    return [JOBCTL, '--home', this.home, ...a];
  }

  /** Runs `jobctl ARGS`, timed; throws on a non-zero status. */
  cli(a: string[], timeoutMs?: number): ReturnType<typeof run> {
    return runOk(process.execPath, this.args(a), { env: this.env, timeoutMs });
  }

  async start(): Promise<void> {
    if (!this.home) {
      this.home = tempDir('cmp-jobctl-');
      writeFileSync(join(this.home, 'config.json'), JSON.stringify(this.config));
      const home = this.home;
      onCleanup(() => removeInstanceLeftovers(cgroupInstanceName(home)));
    }
    if (!this.version) this.version = (await runOk(process.execPath, [JOBCTL, '--version'], { env: this.env })).stdout.trim();
    await this.startDaemon();
  }

  /** Starts the daemon on the existing home; resolves with the time until daemon.json named it (ms). */
  async startDaemon(): Promise<number> {
    const t0 = now();
    const child = spawnTracked(process.execPath, this.args(['daemon', '--listen', '127.0.0.1:0']), { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    this.daemon = child;
    // Registered after spawnTracked's SIGKILL, so it runs first: SIGTERM lets the daemon stop its jobs.
    const off = onCleanup(() => killTrackedOne(child, 60_000));
    child.once('exit', () => off());
    const file = join(this.home, 'daemon.json');
    await until('the jobctl daemon to write daemon.json', () => {
      if (child.exitCode !== null) throw new Error(`jobctl daemon exited with ${child.exitCode}: ${log}`);
      try {
        return (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid === child.pid ? true : undefined;
      } catch {
        return undefined;
      }
    }, 120_000, 2);
    return now() - t0;
  }

  /** SIGTERM to the daemon (it stops its jobs), then waits for it to exit. */
  async stopDaemon(): Promise<void> {
    if (this.daemon) await killTrackedOne(this.daemon, 60_000);
    this.daemon = null;
  }

  async stop(): Promise<void> {
    await this.stopDaemon();
  }

  async submit(argv: string[]): Promise<{ ref: JobRef; ms: number }> {
    const r = await this.cli(['run', '--', ...argv]);
    return { ref: { id: r.stdout.trim() }, ms: r.ms };
  }

  /** `jobctl run --batch -` of argvs (one JSON line each): one process for all; resolves with the ids. */
  async submitBatch(argvs: string[][]): Promise<{ refs: JobRef[]; ms: number }> {
    const input = argvs.map((argv) => JSON.stringify(argv)).join('\n');
    const r = await runOk(process.execPath, this.args(['run', '--batch', '-']), { env: this.env, input, timeoutMs: 600_000 });
    const refs = r.stdout.trim().split('\n').map((id) => ({ id }));
    if (refs.length !== argvs.length) throw new Error(`jobctl run --batch: ${refs.length} ids for ${argvs.length} lines`);
    return { refs, ms: r.ms };
  }

  async wait(ref: JobRef): Promise<void> {
    const r = await run(process.execPath, this.args(['wait', ref.id]), { env: this.env, timeoutMs: 600_000 });
    if (r.code === null || r.stderr.includes('jobctl:')) throw new Error(`jobctl wait ${ref.id}: ${r.stderr}`);
  }

  follower(ref: JobRef): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    return { file: process.execPath, args: this.args(['logs', '-f', ref.id]), env: this.env };
  }

  async kill(ref: JobRef): Promise<void> {
    await run(process.execPath, this.args(['stop', ref.id, '--grace', '0s']), { env: this.env });
  }

  daemonPid(): number | null {
    return this.daemon?.pid ?? null;
  }
}

/** SIGTERM to a tracked process (its group), SIGKILL after graceMs. */
async function killTrackedOne(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => void killTracked(child, 'SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

// ---- task-spooler ---------------------------------------------------------------------------------

/** task-spooler: its own socket and output directory; 4 slots so that a flood and a follow job run together. */
export class TspPeer implements Peer {
  readonly name = 'tsp';
  version = '';
  private env: NodeJS.ProcessEnv = {};
  private readonly refs: JobRef[] = [];

  async start(): Promise<void> {
    const dir = tempDir('cmp-tsp-');
    mkdirSync(join(dir, 'out'));
    this.env = cleanEnv({ TS_SOCKET: join(dir, 'tsp.sock'), TMPDIR: join(dir, 'out'), TS_MAXFINISHED: '1000000', TS_SLOTS: '4' });
    onCleanup(() => this.stop());
    await runOk('tsp', ['-S', '4'], { env: this.env });
    const v = await run('tsp', ['-V'], { env: this.env });
    this.version = /v[\d.]+/.exec(v.stdout + v.stderr)?.[0] ?? 'task-spooler';
    this.version = `task-spooler ${this.version}`;
  }

  async stop(): Promise<void> {
    if (!this.env.TS_SOCKET) return;
    // -k on a finished job is a harmless error; the server kills nothing on -K by itself.
    for (const ref of this.refs.splice(0)) await this.kill(ref).catch(() => undefined);
    await run('tsp', ['-K'], { env: this.env, timeoutMs: 10_000 }).catch(() => undefined);
  }

  async submit(argv: string[]): Promise<{ ref: JobRef; ms: number }> {
    const r = await runOk('tsp', argv, { env: this.env });
    const ref = { id: r.stdout.trim() };
    this.refs.push(ref);
    if (this.refs.length > 64) this.refs.splice(0, this.refs.length - 64);
    return { ref, ms: r.ms };
  }

  /** tsp -w: the server answers when the job ends. */
  async wait(ref: JobRef): Promise<void> {
    await run('tsp', ['-w', ref.id], { env: this.env, timeoutMs: 600_000 });
  }

  /** The job's output file (in TMPDIR). */
  async outputFile(ref: JobRef): Promise<string> {
    return (await runOk('tsp', ['-o', ref.id], { env: this.env })).stdout.trim();
  }

  follower(ref: JobRef): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    return { file: 'tsp', args: ['-t', ref.id], env: this.env };
  }

  async kill(ref: JobRef): Promise<void> {
    await run('tsp', ['-k', ref.id], { env: this.env, timeoutMs: 10_000 });
  }

  /** The server: the oldest `tsp` process with our socket in its environment. */
  daemonPid(): number | null {
    let best: { pid: number; start: number } | null = null;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'tsp') continue;
        if (!readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`TS_SOCKET=${this.env.TS_SOCKET}`)) continue;
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const start = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
        if (!best || start < best.start) best = { pid: Number(name), start };
      } catch {
        // gone
      }
    }
    return best?.pid ?? null;
  }

  /** The job list, as `tsp` (-l) prints it. */
  list(): ReturnType<typeof run> {
    return runOk('tsp', ['-l'], { env: this.env });
  }

  /** `tsp -i ID`. */
  info(id: string): ReturnType<typeof run> {
    return runOk('tsp', ['-i', id], { env: this.env });
  }
}

// ---- nq -------------------------------------------------------------------------------------------

/** nq: a directory per queue (nq runs the jobs of one directory one after another); no daemon. */
export class NqPeer implements Peer {
  readonly name = 'nq';
  version = 'nq 0.3.1 (Debian)';
  private dir = '';
  private readonly refs: JobRef[] = [];

  async start(): Promise<void> {
    this.dir = tempDir('cmp-nq-');
    onCleanup(() => this.stop());
    const v = await run('dpkg-query', ['-W', '-f', '${Version}', 'nq']).catch(() => null);
    if (v?.stdout) this.version = `nq ${v.stdout}`;
  }

  async stop(): Promise<void> {
    for (const ref of this.refs.splice(0)) await this.kill(ref);
  }

  private queueDir(queue: string | undefined): string {
    const d = join(this.dir, queue ?? 'default');
    mkdirSync(d, { recursive: true });
    return d;
  }

  async submit(argv: string[], opts: { queue?: string } = {}): Promise<{ ref: JobRef; ms: number }> {
    const dir = this.queueDir(opts.queue);
    const r = await runOk('nq', argv, { env: cleanEnv({ NQDIR: dir }) });
    const id = r.stdout.trim();
    const pid = Number(id.slice(id.lastIndexOf('.') + 1));
    const ref = { id, file: join(dir, id), pid };
    this.refs.push(ref);
    if (this.refs.length > 64) this.refs.splice(0, this.refs.length - 64);
    return { ref, ms: r.ms };
  }

  /** nq -w FILE: blocks on the job file's lock, released when the job ends. */
  async wait(ref: JobRef): Promise<void> {
    await run('nq', ['-w', ref.file as string], { env: cleanEnv({ NQDIR: join(ref.file as string, '..') }), timeoutMs: 600_000 });
  }

  /** fq takes job ids (file names) in NQDIR: given a path it cannot set its inotify watch. */
  follower(ref: JobRef): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    return { file: 'fq', args: [ref.id], env: cleanEnv({ NQDIR: join(ref.file as string, '..') }) };
  }

  /** SIGTERM to the job's process (and group) — only while that PID is still this job (NQJOBID). */
  async kill(ref: JobRef): Promise<void> {
    const pid = ref.pid as number;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`NQJOBID=${ref.id}`)) return;
    } catch {
      return; // gone
    }
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }

  daemonPid(): number | null {
    return null;
  }
}

// ---- pm2 ------------------------------------------------------------------------------------------

/** pm2, installed from the npm registry into a temp prefix, with its own PM2_HOME. */
export class Pm2Peer implements Peer {
  readonly name = 'pm2';
  version = `pm2 ${PM2_VERSION}`;
  private bin = '';
  private env: NodeJS.ProcessEnv = {};
  private home = '';
  private seq = 0;

  /** npm install --prefix TMP pm2@PM2_VERSION; throws with npm's message when it cannot. */
  async install(): Promise<void> {
    const prefix = tempDir('cmp-pm2-prefix-');
    progress(`installing pm2@${PM2_VERSION} into ${prefix} (npm registry)`);
    // cwd: the prefix, so the project's .npmrc plays no part. npm gets our environment unchanged
    // (its registry access may depend on NODE_EXTRA_CA_CERTS, which cleanEnv() removes).
    const r = await run('npm', ['install', '--prefix', prefix, `pm2@${PM2_VERSION}`, '--no-audit', '--no-fund', '--loglevel=error', '--no-save'], { cwd: prefix, env: process.env, timeoutMs: 300_000 });
    const bin = join(prefix, 'node_modules', 'pm2', 'bin', 'pm2');
    if (r.code !== 0 || !existsSync(bin)) throw new Error(`npm install pm2@${PM2_VERSION} failed: ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
    this.bin = bin;
  }

  async start(): Promise<void> {
    if (!this.bin) await this.install();
    this.home = tempDir('cmp-pm2-home-');
    this.env = cleanEnv({ PM2_HOME: this.home });
    onCleanup(() => this.stop());
    await this.pm2(['ping']);
  }

  private pm2(args: string[], timeoutMs = 120_000): ReturnType<typeof run> {
    return runOk(process.execPath, [this.bin, ...args], { env: this.env, timeoutMs });
  }

  async stop(): Promise<void> {
    if (!this.home || !existsSync(join(this.home, 'pm2.pid'))) return;
    await run(process.execPath, [this.bin, 'kill'], { env: this.env, timeoutMs: 60_000 }).catch(() => undefined);
  }

  /** pm2 start FILE --no-autorestart (the run-equivalent): pm2 keeps the process in its list. */
  async submit(argv: string[]): Promise<{ ref: JobRef; ms: number }> {
    const name = `j${++this.seq}`;
    const [file, ...rest] = argv as [string, ...string[]];
    const r = await this.pm2(['start', file, '--interpreter', 'none', '--no-autorestart', '--name', name, '-s', ...(rest.length ? ['--', ...rest] : [])]);
    return { ref: { id: name, file: join(this.home, 'logs', `${name}-out.log`) }, ms: r.ms };
  }

  /** pm2 has no wait: polls `pm2 jlist` (100 ms) until the process is no longer online. */
  async wait(ref: JobRef): Promise<void> {
    await until(`pm2 process ${ref.id} to end`, async () => {
      const list = JSON.parse((await this.pm2(['jlist'])).stdout) as Array<{ name: string; pm2_env: { status: string } }>;
      const p = list.find((x) => x.name === ref.id);
      // Gone from the list (deleted) counts as ended.
      return !p || (p.pm2_env.status !== 'online' && p.pm2_env.status !== 'launching') ? true : undefined;
    }, 600_000, 100);
  }

  follower(ref: JobRef): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    return { file: process.execPath, args: [this.bin, 'logs', ref.id, '--raw', '--lines', '5'], env: this.env };
  }

  async kill(ref: JobRef): Promise<void> {
    await run(process.execPath, [this.bin, 'delete', ref.id, '-s'], { env: this.env });
  }

  /** Removes every process from pm2's list (a long list slows every pm2 command). */
  async deleteAll(): Promise<void> {
    await this.pm2(['delete', 'all', '-s']).catch(() => undefined);
  }

  daemonPid(): number | null {
    try {
      return Number(readFileSync(join(this.home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  }
}

// ---- peer set-up ----------------------------------------------------------------------------------

/** Installs task-spooler and nq with apt-get when they are missing; returns why not when that fails. */
export async function ensureAptPeers(): Promise<{ tsp: string | null; nq: string | null }> {
  const missing = [['tsp', 'task-spooler'], ['nq', 'nq']].filter(([bin]) => which(bin as string) === null).map(([, pkg]) => pkg as string);
  if (missing.length > 0) {
    progress(`installing ${missing.join(', ')} with apt-get`);
    const update = await run('apt-get', ['update'], { timeoutMs: 300_000 }).catch((e: Error) => ({ code: 1, stderr: e.message }));
    if (update.code === 0) {
      await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env: cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' }), timeoutMs: 600_000 }).catch(() => undefined);
    }
  }
  const why = (bin: string, pkg: string): string | null => (which(bin) ? null : `skipped: the Debian package ${pkg} could not be installed (apt-get install ${pkg})`);
  return { tsp: why('tsp', 'task-spooler'), nq: why('nq', 'nq') };
}
