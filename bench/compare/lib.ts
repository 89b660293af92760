// Helpers of the comparison benchmark: processes, timing, statistics, temp dirs, cleanup, /proc.
// Kept apart from bench/lib (the supervisor-level benchmarks' own helpers, edited by others).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (found from this bundle's place). */
export { REPO } from '../lib/daemon.ts';

/** This bundle's directory (build/bench/compare): the job helper lives next to it. */
export const HERE = dirname(fileURLToPath(import.meta.url));

/** True with `--quick`. */
export const QUICK = process.argv.includes('--quick');

/** The value after a flag (`--only submit,ingest`). */
export function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * The environment every measured process gets: ours without NODE_EXTRA_CA_CERTS (set on this
 * workplace for the package proxy: it makes every Node start parse ~140 certificates, ≈ 80 ms, which
 * would be charged to jobctl and pm2 alike but is no part of either) and with plain output.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

/** Milliseconds with sub-ms resolution (CLOCK_MONOTONIC). */
export const now = (): number => performance.now();

/** Resolves after ms. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A finished command. */
export interface Done {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to its end; measures spawn → close. Never rejects for a status; rejects on timeout. */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<Done> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(file, args, { env: opts.env ?? cleanEnv(), cwd: opts.cwd, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ').slice(0, 200)}: no end within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: now() - t0 });
    });
  });
}

/** run() that throws unless the status is 0. */
export async function runOk(file: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<Done> {
  const r = await run(file, args, opts);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ').slice(0, 200)} exited with ${r.code ?? r.signal}: ${r.stderr.slice(0, 500)}`);
  return r;
}

/** Spawns a long-running helper process that is killed (its process group) at cleanup. */
export function spawnTracked(file: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(file, args, { env: cleanEnv(), ...opts, detached: true });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  const off = onCleanup(kill);
  child.once('exit', () => off());
  return child;
}

/** Kills a tracked helper's whole process group and waits for it to go. */
export async function killTracked(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // gone
    }
  }, 3000);
  await gone;
  clearTimeout(t);
}

// ---- cleanup -------------------------------------------------------------------------------------

const cleanups: Array<() => unknown> = [];

/** Registers a cleanup (run in reverse order at the end, or on SIGINT/SIGTERM); returns its remover. */
export function onCleanup(fn: () => unknown): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Runs every registered cleanup, newest first; never throws. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop() as () => unknown;
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`  cleanup: ${(err as Error).message}\n`);
    }
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: a second signal (a wrapper such as timeout(1) forwards Ctrl-C again) must not
  // kill the process halfway through its cleanup.
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: cleaning up\n`);
    void cleanupAll().then(() => process.exit(130));
  });
}

/** A fresh temp dir (under JOBCTL_BENCH_DIR when set), removed at cleanup. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(process.env.JOBCTL_BENCH_DIR ?? tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- statistics ----------------------------------------------------------------------------------

/** The p-th percentile (0–100), linear between closest ranks; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (rank - lo);
}

/** The median. */
export const median = (samples: readonly number[]): number => percentile(samples, 50);

/** A number for a table: 3 significant digits, whole numbers from 1000. */
export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toString();
  if (v === 0) return '0';
  return Number(v.toPrecision(digits)).toString();
}

/** "1.5 GiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${fmt(n)} ${units[i]}`;
}

/** Progress on stderr. */
export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}

// ---- /proc ---------------------------------------------------------------------------------------

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) of a process in ms, or null when it is gone. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The process and its children (a daemon and its helpers, e.g. jobctl-spawner, when no job runs). */
export function withChildren(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

/** Size of a file, 0 when missing. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Polls until fn returns a value other than undefined; throws after timeoutMs. */
export async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
