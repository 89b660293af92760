// A real daemon for integration tests: the real bin/jobctl, its own JOBCTL_HOME in a temp dir, port 0
// on loopback, and helpers that drive the real binary as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll.ts';

/** The repository root (tests run from build/test/…). */
export const REPO = new URL('../../../', import.meta.url).pathname;
/** The real executable. */
export const JOBCTL = join(REPO, 'bin', 'jobctl');

/** What a finished CLI run produced. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** A daemon under test. */
export interface TestDaemon {
  home: string;
  endpoint: string;
  pid: number;
  process: ChildProcess;
  /** Runs `jobctl ARGS` against this daemon (admin identity unless --identity is passed). */
  cli(args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string }): Promise<CliResult>;
  /** The daemon's stderr so far (its log). */
  log(): string;
  /** SIGTERM and wait for a clean exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Runs the real binary with args; never throws for a non-zero status. */
export function runJobctl(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [JOBCTL, ...args], { env: childEnv({ NO_COLOR: '1', ...options.env }), cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobctl ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30_000} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, options.timeoutMs ?? 30_000);
    child.stdin.end(options.input ?? '');
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString(), stderr: Buffer.concat(err).toString(), stdoutBytes });
    });
  });
}

/**
 * The environment of a child Node process: this process's, with extra's values — except NODE_OPTIONS,
 * whose flags are ADDED to the inherited ones. A test that gives its daemon flags (say --expose-gc)
 * must not drop what the whole run needs in every process: scripts/test-node24.sh preloads the
 * Node 24 SQLite addon through NODE_OPTIONS, and a daemon without it cannot open its database.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const nodeOptions = [process.env.NODE_OPTIONS, extra.NODE_OPTIONS].filter(Boolean).join(' ');
  return { ...process.env, ...extra, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
}

/** Starts a daemon on 127.0.0.1:0 with a fresh home and waits until it is ready (fails at once if it exits). */
export async function startTestDaemon(options: { home?: string; extraArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<TestDaemon> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'jobctl-home-'));
  const child = spawn(process.execPath, [JOBCTL, 'daemon', '--home', home, '--listen', '127.0.0.1:0', '--log-level', 'debug', ...(options.extraArgs ?? [])], {
    env: childEnv(options.env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // pollUntil retries a check that throws, so an exit is returned, not thrown, and reported below.
  const ready = await pollUntil(
    'the daemon to write daemon.json',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) return { exited: child.exitCode ?? child.signalCode };
      try {
        const parsed = JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { endpoint: string; pid: number };
        return parsed.pid === child.pid ? parsed : null;
      } catch {
        return null;
      }
    },
    20_000,
  );
  if ('exited' in ready) {
    // 'close' comes once stderr is drained: only then does the log hold the reason.
    if (child.stderr && !child.stderr.closed) await new Promise((resolve) => child.once('close', resolve));
    throw new Error(`the daemon exited (${ready.exited}) before it was ready: ${log}`);
  }
  const info = ready;
  return {
    home,
    endpoint: info.endpoint,
    pid: child.pid as number,
    process: child,
    cli: (args, o = {}) => runJobctl(['--home', home, ...args], { ...o, env: { JOBCTL_NO_AUTOSTART: '1', ...o.env } }),
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!options.home) rmSync(home, { recursive: true, force: true });
      return code;
    },
  };
}
