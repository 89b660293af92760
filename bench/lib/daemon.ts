// A real daemon for the benchmarks: the real bin/jobctl, its own JOBCTL_HOME in a temp dir, port 0 on
// loopback (as test/support/daemon.ts, which cannot be reused here: it finds the repository relative
// to its own compiled location under build/test/).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonInstance, removeInstanceLeftovers } from './cgroups.ts';
import { tempDir } from './rig.ts';
import { nowMs, onInterrupt, sleep } from './stats.ts';

/** The repository root: the nearest directory above this bundle holding package.json and bin/jobctl. */
export const REPO = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'jobctl'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
})();

/** The real executable. */
export const JOBCTL = join(REPO, 'bin', 'jobctl');

/** A finished process: status, output, wall time. */
export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end and measures its wall time from spawn to close; never throws for a status. */
export function timed(file: string, args: string[], env: NodeJS.ProcessEnv = measuredEnv(), timeoutMs = 60_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: nowMs() - t0 });
    });
  });
}

/** A daemon under benchmark. */
export interface BenchDaemon {
  home: string;
  pid: number;
  process: ChildProcess;
  /** argv (after the node binary) of `jobctl --home HOME ARGS`. */
  args(args: string[]): string[];
  /** The environment CLI runs get: never autostart another daemon. */
  env: NodeJS.ProcessEnv;
  /** Runs `jobctl ARGS` against this daemon and measures it; throws on a non-zero status. */
  cli(args: string[]): Promise<Finished>;
  /** SIGTERM, wait for the exit (SIGKILL after 15 s), remove the home and any cgroup directory the daemon left. */
  stop(): Promise<void>;
}

/**
 * The environment of every timed process: ours without NODE_EXTRA_CA_CERTS. This workplace sets it
 * for its package proxy, and Node 20 then parses its ≈ 140 certificates at every start (≈ 35–45 ms
 * here), before any code of ours: it made `node -e 0` and every jobctl command slower by the same
 * amount and the ratios look better than a user without it would see (docs/BENCHMARKS.md, "CLI").
 * bench/compare/lib.ts cleanEnv() does the same for the comparison.
 */
export function measuredEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Starts `jobctl daemon` on 127.0.0.1:0 with a fresh home and waits until daemon.json names it. */
export async function startDaemon(): Promise<BenchDaemon> {
  const home = tempDir('jobctl-bench-home-');
  const child = spawn(process.execPath, [JOBCTL, 'daemon', '--home', home, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = { ...measuredEnv(), JOBCTL_NO_AUTOSTART: '1', NO_COLOR: '1' };
  let unregister = (): void => undefined;
  const stop = async (): Promise<void> => {
    unregister();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    rmSync(home, { recursive: true, force: true });
    // The daemon removes its cgroup subtree when it stops; anything it left is removed here.
    removeInstanceLeftovers(daemonInstance(home));
  };
  unregister = onInterrupt(stop);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(home, { recursive: true, force: true });
      throw new Error(`the daemon exited with ${child.exitCode}: ${log}`);
    }
    try {
      const info = JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { pid: number };
      if (info.pid === child.pid) break;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the daemon wrote no daemon.json within 60 s: ${log}`);
    }
    await sleep(20);
  }
  const args = (a: string[]): string[] => [JOBCTL, '--home', home, ...a];
  return {
    home,
    pid: child.pid as number,
    process: child,
    args,
    env,
    async cli(a) {
      const r = await timed(process.execPath, args(a), env);
      if (r.code !== 0) throw new Error(`jobctl ${a.join(' ')} exited with ${r.code}: ${r.stderr}`);
      return r;
    },
    stop,
  };
}
