// The single executable as a user receives it: dist/jobctl copied ALONE into an empty directory, run
// with an empty environment (`env -i`) and a PATH holding no node, far from any node_modules. It must
// answer --version, start a daemon, run a job, return its output, and open the terminal UI.
//
// The binary is built (or found up to date) by scripts/build-binary.mjs: the first build compiles the
// SQLite addon for Node 24 and takes a few minutes; later ones take seconds. JOBCTL_SKIP_BINARY=1
// skips this file, loudly.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO } from '../support/daemon.ts';
import { isAlive, pollUntil } from '../support/poll.ts';

const SKIP = process.env.JOBCTL_SKIP_BINARY === '1';
if (SKIP) {
  process.stderr.write('\n!!! JOBCTL_SKIP_BINARY=1: the single-executable test (test/binary) is SKIPPED — dist/jobctl is NOT checked !!!\n\n');
}

/** Tools a job and the UI test need; node is deliberately not among them. */
const TOOLS = ['sh', 'echo', 'cat', 'sleep', 'env'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the single executable, alone, without node', { skip: SKIP && 'JOBCTL_SKIP_BINARY=1', timeout: 20 * 60_000 }, () => {
  let root = '';
  let binary = '';
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

  /** Runs the copied binary with the bare environment; never throws for a non-zero status. */
  function jobctl(args: string[], timeoutMs = 30_000): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(binary, args, { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`jobctl ${args.join(' ')} did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  before(() => {
    const build = spawnSync(process.execPath, [join(REPO, 'scripts', 'build-binary.mjs'), '--no-bundle'], { cwd: REPO, encoding: 'utf8', timeout: 15 * 60_000 });
    assert.equal(build.status, 0, `scripts/build-binary.mjs failed:\n${build.stdout}\n${build.stderr}`);
    root = mkdtempSync(join(tmpdir(), 'jobctl-binary-'));
    // The binary alone in its directory; everything else (home, PATH, cache) lives next to it, outside.
    const alone = join(root, 'alone');
    mkdirSync(alone);
    binary = join(alone, 'jobctl');
    copyFileSync(join(REPO, 'dist', 'jobctl'), binary);
    spawnSync('chmod', ['755', binary]);
    const path = join(root, 'path');
    mkdirSync(path);
    for (const tool of TOOLS) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (found.startsWith('/')) symlinkSync(found, join(path, tool));
    }
    const user = join(root, 'user');
    mkdirSync(user);
    home = join(user, 'jobctl-home');
    // No autostart: the daemon under test is the one started explicitly below, and a client racing
    // its shutdown must not bring up another one.
    env = { PATH: path, HOME: user, TERM: 'xterm-256color', NO_COLOR: '1', JOBCTL_NO_AUTOSTART: '1' };
    assert.notEqual(spawnSync('sh', ['-c', 'command -v node'], { env }).status, 0, 'node must not be reachable on the test PATH');
    assert.deepEqual(readdirSync(alone), ['jobctl']);
  });

  after(async () => {
    if (!root) return;
    const pid = daemonPid();
    if (pid && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      await pollUntil('the daemon to exit', () => !isAlive(pid), 20_000).catch(() => process.kill(pid, 'SIGKILL'));
    }
    rmSync(root, { recursive: true, force: true });
  });

  function daemonPid(): number | null {
    try {
      return (JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { pid: number }).pid;
    } catch {
      return null;
    }
  }

  test('--version, with no node on PATH and no node_modules anywhere near', async () => {
    const r = await jobctl(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.equal(r.stderr, '');
  });

  test('daemon --detach starts a daemon (Node 24 inside) and returns once it is ready', async () => {
    const r = await jobctl(['daemon', '--detach', '--home', home]);
    assert.equal(r.code, 0, `${r.stderr}\n${existsSync(join(home, 'daemon.log')) ? readFileSync(join(home, 'daemon.log'), 'utf8') : ''}`);
    assert.match(r.stdout.trim(), /^wss:\/\/127\.0\.0\.1:\d+$/);
    const pid = daemonPid();
    assert.ok(pid && isAlive(pid));
    // The daemon is the binary itself, not some node found elsewhere.
    assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0], binary);
    const info = await jobctl(['info', '--json', '--home', home]);
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { client: { node: string }; daemon: { node: string } };
    assert.match(parsed.client.node, /^v24\./);
    assert.match(parsed.daemon.node, /^v24\./);
  });

  test('the embedded SQLite addon and jobctl-spawner are unpacked once into the cache, named by their hashes', () => {
    const cache = join(env.HOME as string, '.cache', 'jobctl');
    const files = readdirSync(cache);
    const addons = files.filter((f) => f.startsWith('better_sqlite3'));
    assert.equal(addons.length, 1, files.join(', '));
    assert.match(addons[0] as string, /^better_sqlite3-[0-9a-f]{16}\.node$/);
    const spawners = files.filter((f) => f.startsWith('jobctl-spawner'));
    assert.equal(spawners.length, 1, files.join(', '));
    assert.match(spawners[0] as string, /^jobctl-spawner-[0-9a-f]{16}$/);
    assert.equal(statSync(join(cache, spawners[0] as string)).mode & 0o777, 0o700);
    // Beside them only the CLI's TLS session tickets (client/tls-sessions.ts).
    assert.deepEqual(files.filter((f) => !addons.includes(f) && !spawners.includes(f) && f !== 'tls-sessions'), [], files.join(', '));
    assert.equal(statSync(cache).mode & 0o777, 0o700);
  });

  test('run a job, wait for it, read its logs and status', async () => {
    const mtimeBefore = statSync(join(env.HOME as string, '.cache', 'jobctl')).mtimeMs;
    const started = await jobctl(['--home', home, 'run', '--name', 'from-the-binary', '--', 'sh', '-c', 'echo out-line; echo err-line >&2; exit 3']);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    assert.match(id, /^\d+$/);
    const waited = await jobctl(['--home', home, 'wait', id]);
    assert.equal(waited.code, 3, waited.stderr);
    const logs = await jobctl(['--home', home, 'logs', id]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'out-line\n');
    assert.equal(logs.stderr, 'err-line\n');
    const status = await jobctl(['--home', home, 'status', id, '--json']);
    const job = JSON.parse(status.stdout) as { state: string; exitCode: number; name: string };
    assert.deepEqual({ state: job.state, exitCode: job.exitCode, name: job.name }, { state: 'exited', exitCode: 3, name: 'from-the-binary' });
    // Later processes reuse the unpacked addon and spawner rather than writing them again.
    assert.equal(statSync(join(env.HOME as string, '.cache', 'jobctl')).mtimeMs, mtimeBefore);
  });

  test('completion scripts come out of the binary', async () => {
    const bash = await jobctl(['completion', 'bash']);
    assert.equal(bash.code, 0, bash.stderr);
    assert.match(bash.stdout, /complete -o bashdefault -o default -F _jobctl_yargs_completions jobctl/);
    const words = await jobctl(['--get-yargs-completions', 'jobctl', '']);
    assert.ok(words.stdout.split('\n').includes('run'), words.stdout);
  });

  test('top shows a running job in a real terminal (tmux)', async (t) => {
    assert.equal(spawnSync('sh', ['-c', 'command -v tmux']).status, 0, 'tmux is missing (apt-get install tmux; .ci/run does)');
    const started = await jobctl(['--home', home, 'run', '--name', 'visible-in-top', '--', 'sleep', '60']);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const socket = `jobctl-binary-${process.pid}`;
    const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    t.after(async () => {
      tmux('kill-server');
      await jobctl(['--home', home, 'stop', id, '--grace', '0s']);
    });
    const command = ['env', '-i', `PATH=${env.PATH}`, `HOME=${env.HOME}`, 'TERM=xterm-256color', 'JOBCTL_NO_AUTOSTART=1', binary, '--home', home, 'top'].map((a) => `'${a}'`).join(' ');
    assert.equal(tmux('new-session', '-d', '-s', 'top', '-x', '140', '-y', '35', command).status, 0);
    const screen = await pollUntil('top to show the job', () => {
      const shot = tmux('capture-pane', '-p', '-t', 'top').stdout;
      return shot.includes('visible-in-top') ? shot : null;
    }, 15_000, 100);
    assert.match(screen, new RegExp(`\\b${id}\\b`));
    tmux('send-keys', '-t', 'top', 'q');
    await pollUntil('top to quit on q', () => tmux('has-session', '-t', 'top').status !== 0, 10_000, 50);
  });

  test('the daemon stops cleanly on SIGTERM and removes daemon.json', async () => {
    const pid = daemonPid();
    assert.ok(pid);
    process.kill(pid, 'SIGTERM');
    await pollUntil('the daemon to exit', () => !isAlive(pid), 20_000);
    assert.equal(existsSync(join(home, 'daemon.json')), false);
    assert.doesNotMatch(readFileSync(join(home, 'daemon.log'), 'utf8'), /Assertion failed|Native stack trace/);
  });
});
