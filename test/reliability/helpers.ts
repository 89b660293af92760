// Shared pieces of the reliability tests (docs/RELIABILITY.md): the SHORT/LONG switch, daemons that are
// always cleaned up, identities, a raw client for hostile frames, read-only database checks, and the
// OS-side views a crash test needs — processes found by a tag in their environment (so double-forked
// and reparented grandchildren are found too) and the job cgroups of one instance.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { Connection } from '../../src/client/connection.ts';
import { cgroupInstanceName } from '../../src/home/paths.ts';
import { readIdentity, type IdentityPems } from '../../src/pki/index.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { startTestDaemon, type CliResult, type TestDaemon } from '../support/daemon.ts';
import { isAlive, pollUntil } from '../support/poll.ts';

/** JOBCTL_LONG=1 runs the long versions (minutes to hours); the default is the short CI version. */
export const LONG = process.env.JOBCTL_LONG === '1';

/** The short or the long figure for a scenario. */
export function scale<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** A PATH for jobs. */
export const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';

/** Root is needed for mounts, cgroups and some checks; tests say so when they skip. */
export const IS_ROOT = process.getuid?.() === 0;

/** A temp dir removed when the test ends. */
export function tempDir(t: Pick<TestContext, 'after'>, prefix = 'jobctl-rel-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts a test daemon that is stopped (SIGTERM, then SIGKILL) and whose home is removed when the test
 * ends. JOBCTL_DAEMON_NODE_OPTIONS is added to the daemon's NODE_OPTIONS alone (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" to see where its time goes under load); the run's own NODE_OPTIONS stay
 * (startTestDaemon adds, never replaces).
 */
export async function daemon(t: Pick<TestContext, 'after'>, options: { home?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestDaemon> {
  const nodeOptions = process.env.JOBCTL_DAEMON_NODE_OPTIONS;
  const merged = [options.env?.NODE_OPTIONS, nodeOptions].filter(Boolean).join(' ');
  const d = await startTestDaemon(merged ? { ...options, env: { ...options.env, NODE_OPTIONS: merged } } : options);
  t.after(async () => {
    // A daemon that died on its own is the finding: show how it ended.
    if (d.process.exitCode !== null || d.process.signalCode !== null) {
      console.error(`the daemon exited by itself (${d.process.exitCode ?? d.process.signalCode}); its log ends:\n${d.log().slice(-6000)}`);
    }
    await stopDaemon(d);
  });
  return d;
}

/** SIGTERM with a deadline, then SIGKILL; resolves once the process is gone. Safe to call twice. */
export async function stopDaemon(d: TestDaemon, timeoutMs = 30_000): Promise<number | null> {
  if (d.process.exitCode !== null || d.process.signalCode !== null) return d.process.exitCode;
  const exited = new Promise<number | null>((r) => d.process.once('exit', (code) => r(code)));
  d.process.kill('SIGTERM');
  const timer = setTimeout(() => d.process.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** SIGKILLs the daemon and resolves once it is gone (its jobs are left as they were). */
export async function killDaemon(d: TestDaemon): Promise<void> {
  if (d.process.exitCode !== null || d.process.signalCode !== null) return;
  const exited = new Promise<void>((r) => d.process.once('exit', () => r()));
  d.process.kill('SIGKILL');
  await exited;
}

/** The local admin identity of a daemon's home. */
export function adminIdentity(d: { home: string }): IdentityPems {
  return readIdentity(join(d.home, 'pki', 'admin'));
}

/** The daemon's CA (certificate and key), to issue deliberately bad certificates. */
export function daemonCa(d: { home: string }): { certPem: string; keyPem: string } {
  return { certPem: readFileSync(join(d.home, 'pki', 'ca.crt'), 'utf8'), keyPem: readFileSync(join(d.home, 'pki', 'ca.key'), 'utf8') };
}

/** Issues an identity through the real CLI into dir. */
export async function issueIdentity(d: TestDaemon, user: string, role: 'admin' | 'user' | 'viewer', dir: string): Promise<IdentityPems> {
  const r = await d.cli(['certs', 'issue', '--user', user, '--role', role, '--out', dir]);
  assert.equal(r.code, 0, `certs issue ${user}: ${r.stderr}`);
  return readIdentity(dir);
}

/** Opens a Connection closed when the test ends. */
export async function connect(t: Pick<TestContext, 'after'>, endpoint: string, pems: IdentityPems): Promise<Connection> {
  const c = await Connection.open(endpoint, pems);
  t.after(() => c.close());
  return c;
}

/** job.start parameters: argv in cwd (default: the temp dir) with PATH and extra env. */
export function spec(argv: string[], extra: { name?: string | null; cwd?: string; env?: Record<string, string> } = {}) {
  return { argv, cwd: extra.cwd ?? tmpdir(), env: { PATH, ...extra.env }, limits: {}, name: extra.name ?? null };
}

/** Asserts exit status code, showing output when it differs. */
export function assertExit(r: CliResult, code: number, what = ''): void {
  assert.equal(r.code, code, `${what} exit ${r.code} (expected ${code}); stdout: ${r.stdout.slice(0, 400)}; stderr: ${r.stderr.slice(0, 400)}`);
}

/** The JSON a CLI run printed (asserting exit 0). */
export function jsonOf<T>(r: CliResult): T {
  assertExit(r, 0);
  return JSON.parse(r.stdout) as T;
}

/** Every job of the daemon (admin view), newest first. */
export async function allJobs(c: Connection): Promise<JobInfo[]> {
  const out: JobInfo[] = [];
  let beforeId: number | undefined;
  for (;;) {
    const page = await c.call('job.list', { all: true, limit: 1000, ...(beforeId !== undefined ? { beforeId } : {}) });
    out.push(...page);
    if (page.length < 1000) return out;
    beforeId = page.at(-1)!.id;
  }
}

// ---------------------------------------------------------------------------------------------------
// The database, read-only, as an outside observer sees it.

/** Opens the daemon's database read-only (never creating or migrating anything). */
export function openReadOnly(home: string): Database.Database {
  return new Database(join(home, 'jobctl.db'), { readonly: true, fileMustExist: true });
}

/** PRAGMA integrity_check of the database of home: "ok" when sound. */
export function integrityCheck(home: string): string {
  const db = openReadOnly(home);
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** Every stored byte of a job's stdout (stream 1), in order, straight from the database. */
export function storedStdout(db: Database.Database, jobId: number): Buffer {
  const rows = db.prepare('SELECT data FROM log_chunks WHERE job_id = ? AND stream = 1 ORDER BY seq').all(jobId) as Array<{ data: Buffer }>;
  return Buffer.concat(rows.map((r) => r.data));
}

// ---------------------------------------------------------------------------------------------------
// Processes and cgroups.

/** A process seen by a scan: pid and start time (so a reused PID is never mistaken for it). */
export interface SeenProcess {
  pid: number;
  startTime: string;
  cmd: string;
}

/** Every live (non-zombie) process whose environment holds NAME=value. */
export function processesTagged(name: string, value: string): SeenProcess[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const found: SeenProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`);
      if (!environ.includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (rest[0] === 'Z') continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      found.push({ pid: Number(entry), startTime: rest[19] ?? '', cmd });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** True while the process seen earlier still runs (same PID and start time, not a zombie). */
export function stillRuns(p: SeenProcess): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === p.startTime;
  } catch {
    return false;
  }
}

/** SIGKILLs processes this test started (by PID and start time) — the last-resort cleanup. */
export function killSeen(procs: SeenProcess[]): void {
  for (const p of procs) {
    if (!stillRuns(p)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The directories named after home's cgroup instance, in every hierarchy under /sys/fs/cgroup. */
export function instanceDirs(home: string): string[] {
  const name = cgroupInstanceName(home);
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const path = join(dir, e);
      let isDir = false;
      try {
        isDir = statSync(path).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      if (e === name) found.push(path);
      else if (depth < 5 && !e.startsWith('jobctl-') && !e.startsWith('job-')) walk(path, depth + 1);
    }
  };
  if (existsSync('/sys/fs/cgroup')) walk('/sys/fs/cgroup', 0);
  return found;
}

/** Job cgroups (`job-*`) of home's instance that exist now, in any hierarchy. */
export function jobCgroups(home: string): string[] {
  return instanceDirs(home).flatMap((dir) => {
    try {
      return readdirSync(dir)
        .filter((e) => e.startsWith('job-'))
        .map((e) => join(dir, e));
    } catch {
      return [];
    }
  });
}

/** Waits until none of procs runs. */
export async function waitAllGone(procs: SeenProcess[], what: string, timeoutMs = 10_000): Promise<void> {
  await pollUntil(what, () => procs.every((p) => !stillRuns(p)), timeoutMs, 25);
}

/** Resident set of a process in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Open descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft "Max open files" of a process. */
export function openFileLimit(pid: number): number {
  const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? 0);
}

/** Raises a running process's open-file limit with prlimit(1) (root); returns the limit now in force. */
export function raiseOpenFileLimit(pid: number, want: number): number {
  if (openFileLimit(pid) >= want) return openFileLimit(pid);
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${want}:${want}`], { stdio: 'ignore' });
  } catch {
    // not permitted: the caller sees the old limit
  }
  return openFileLimit(pid);
}

/** p-th percentile (0..100) of values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** A deterministic pseudo-random generator (mulberry32): fuzz runs are reproducible from their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of a fuzz run: JOBCTL_SEED, else a fresh one (printed so that a failure can be replayed). */
export function fuzzSeed(): number {
  const fromEnv = Number(process.env.JOBCTL_SEED);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : Math.floor(Math.random() * 2 ** 31) + 1;
}

// ---------------------------------------------------------------------------------------------------
// A raw client: sends anything, and matches responses by id without the Connection's checks.

/** A message a raw client received. */
export type RawMessage = { binary: false; text: string; json: Record<string, unknown> | null } | { binary: true; data: Buffer };

/** A raw, authenticated WebSocket client. */
export interface RawClient {
  ws: WebSocket;
  /** Every message, in order. */
  messages: RawMessage[];
  closed: Promise<{ code: number; reason: string }>;
  /** Sends a text (or binary) frame. */
  send(data: string | Buffer, binary?: boolean): void;
  /** Resolves with the next response frame to request id. */
  response(id: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens a raw client; rejects with the HTTP status when the upgrade is refused. */
export function openRaw(endpoint: string, pems: Partial<IdentityPems>, options: { protocol?: string; tls?: object; maxPayload?: number } = {}): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(endpoint, options.protocol ?? 'jobctl.v1', {
      ca: pems.caPem,
      cert: pems.certPem,
      key: pems.keyPem,
      minVersion: 'TLSv1.3',
      perMessageDeflate: false,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
      handshakeTimeout: 10_000,
      ...options.tls,
    });
    const messages: RawMessage[] = [];
    const waiters = new Map<number, (m: Record<string, unknown>) => void>();
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        messages.push({ binary: true, data });
        return;
      }
      const text = data.toString();
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = null;
      }
      messages.push({ binary: false, text, json });
      if (json && json.t === 'res' && typeof json.id === 'number') {
        const w = waiters.get(json.id);
        if (w) {
          waiters.delete(json.id);
          w(json);
        }
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.removeListener('error', reject);
      ws.on('error', () => undefined);
      resolve({
        ws,
        messages,
        closed,
        send: (data, binary = false) => ws.send(data, { binary }),
        response: (id, timeoutMs = 10_000) =>
          new Promise((res, rej) => {
            const found = messages.find((m) => !m.binary && m.json?.t === 'res' && m.json.id === id);
            if (found && !found.binary && found.json) return res(found.json);
            const timer = setTimeout(() => {
              waiters.delete(id);
              rej(new Error(`no response to request ${id} within ${timeoutMs} ms`));
            }, timeoutMs);
            waiters.set(id, (m) => {
              clearTimeout(timer);
              res(m);
            });
          }),
        close: () => ws.terminate(),
      });
    });
  });
}

/** A session.info latency probe running in its own process (see lag-probe.fixture.ts). */
export interface LagProbe {
  /** Ends the probe and returns its round-trip times in ms. */
  stop(): Promise<number[]>;
}

/** Starts a lag probe against endpoint with the identity in identityDir; resolves once it is connected. */
export async function startLagProbe(endpoint: string, identityDir: string, intervalMs = 20): Promise<LagProbe> {
  const script = new URL('./lag-probe.fixture.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [script, endpoint, identityDir, String(intervalMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.pid) prioritize(child.pid);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await pollUntil('the lag probe to connect', () => {
    if (child.exitCode !== null) throw new Error(`the lag probe exited with ${child.exitCode}`);
    return out.startsWith('ready\n');
  }, 15_000);
  return {
    async stop() {
      child.stdin.end();
      const code = await exited;
      assert.equal(code, 0, 'the lag probe ended cleanly');
      const lines = out.split('\n');
      assert.equal(lines.at(-2), 'done', 'the lag probe reported to the end');
      return lines.slice(1, -2).map(Number);
    },
  };
}

/**
 * Raises a process's scheduling priority (nice -10; root only, else a no-op) so that a latency figure
 * measures the daemon's event loop rather than other work on a shared host. Children it spawns later
 * (jobs) inherit it, so they still compete with the daemon as they would in use.
 */
export function prioritize(pid: number): boolean {
  try {
    setPriority(pid, -10);
    return true;
  } catch {
    return false;
  }
}

/** Latency of session.info against an idle daemon for ms: the host's noise floor for lag figures. */
export async function noiseFloor(endpoint: string, identityDir: string, ms = 2000): Promise<number[]> {
  const probe = await startLagProbe(endpoint, identityDir);
  await new Promise((r) => setTimeout(r, ms));
  return probe.stop();
}

/** Above this idle p99 (ms) the host is too busy for a lag bound to mean anything: figures are reported, not asserted. */
export const NOISY_HOST_P99_MS = 20;
