// The daemon's life as users meet it: autostart from nothing (and its refusal when forbidden),
// `daemon --detach`, and SIGTERM — running jobs stopped, clients waiting on them told how they ended,
// daemon.json removed, exit 0 — then a restart on the same home that shows the jobs.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { JOBCTL, runJobctl, startTestDaemon, type CliResult } from '../support/daemon.ts';
import { isAlive, pollUntil } from '../support/poll.ts';
import { adminIdentity, assertExit, jsonOf } from './helpers.ts';

/** The env of a client allowed to autostart (whatever the environment of the test run says). */
const AUTOSTART = { JOBCTL_NO_AUTOSTART: undefined, JOBCTL_HOME: undefined };

function daemonFile(home: string): { endpoint: string; pid: number } | null {
  try {
    return JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')) as { endpoint: string; pid: number };
  } catch {
    return null;
  }
}

/** SIGTERM to a daemon this test started (by its pid from daemon.json) and wait for it to go. */
async function killDaemon(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await pollUntil(`daemon ${pid} to exit`, () => !isAlive(pid), 20_000, 20);
}

/** A fresh home removed after the test — after stopping any daemon that got started in it. */
function makeHome(t: TestContext, sub = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-life-'));
  t.after(async () => {
    const info = daemonFile(join(dir, sub));
    if (info) await killDaemon(info.pid);
    rmSync(dir, { recursive: true, force: true });
  });
  return join(dir, sub);
}

/** A CLI process running in the background: its output so far, and its result when it ends. */
function background(args: string[], env: NodeJS.ProcessEnv = {}): { output(): string; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [JOBCTL, ...args], { env: { ...process.env, NO_COLOR: '1', JOBCTL_NO_AUTOSTART: '1', ...env } });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: err, stdoutBytes: Buffer.concat(out) })),
  );
  return { output: () => Buffer.concat(out).toString(), result };
}

describe('autostart', () => {
  test('from nothing: a fresh home, no daemon, `run -- echo hi` works', async (t) => {
    const home = makeHome(t, 'home'); // does not exist yet
    const r = await runJobctl(['--home', home, 'run', '--', 'echo', 'hi'], { env: AUTOSTART, timeoutMs: 30_000 });
    assertExit(r, 0);
    assert.match(r.stdout, /^1\n$/);
    const info = daemonFile(home);
    assert.ok(info && isAlive(info.pid), 'a daemon runs and is named in daemon.json');
    assert.match(info.endpoint, /^wss:\/\/127\.0\.0\.1:\d+$/);
    for (const f of ['jobctl.db', 'pki/ca.crt', 'pki/ca.key', 'pki/admin/client.key']) assert.ok(existsSync(join(home, f)), `${f} created on first start`);
    assertExit(await runJobctl(['--home', home, 'wait', '1'], { env: { JOBCTL_NO_AUTOSTART: '1' } }), 0);
    assert.equal((await runJobctl(['--home', home, 'logs', '1'], { env: { JOBCTL_NO_AUTOSTART: '1' } })).stdout, 'hi\n');
    // The next client reuses the running daemon instead of starting another.
    const again = await runJobctl(['--home', home, 'run', '--', 'true'], { env: AUTOSTART });
    assertExit(again, 0);
    assert.equal(daemonFile(home)?.pid, info.pid);
  });

  test('clients starting at once share one daemon', async (t) => {
    const home = makeHome(t);
    const results = await Promise.all([0, 1, 2, 3].map(() => background(['--home', home, 'run', '--', 'true'], AUTOSTART).result));
    for (const r of results) assertExit(r, 0, 'a concurrent autostarting client');
    assert.deepEqual(results.map((r) => Number(r.stdout)).sort(), [1, 2, 3, 4]);
    const info = daemonFile(home);
    assert.ok(info && isAlive(info.pid));
    const jobs = jsonOf<JobInfo[]>(await runJobctl(['--home', home, 'ps', '--json'], { env: { JOBCTL_NO_AUTOSTART: '1' } }));
    assert.equal(jobs.length, 4, 'all four jobs ran on the one daemon');
  });

  test('--no-autostart and JOBCTL_NO_AUTOSTART=1: a clear error, exit 1, nothing started', async (t) => {
    const home = makeHome(t);
    for (const [args, env] of [
      [['--home', home, '--no-autostart', 'run', '--', 'echo', 'hi'], AUTOSTART],
      [['--home', home, 'run', '--', 'echo', 'hi'], { JOBCTL_NO_AUTOSTART: '1' }],
    ] as const) {
      const r = await runJobctl([...args], { env });
      assertExit(r, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `jobctl: no jobctl daemon is running for ${home}; start one with "jobctl daemon --detach" (autostart is off: --no-autostart or JOBCTL_NO_AUTOSTART=1)\n`);
    }
    assert.equal(existsSync(join(home, 'daemon.json')), false, 'no daemon was started');
  });

  test('JOBCTL_NO_AUTOSTART takes the usual spellings: yes/true/on (any case) forbid, off/0/empty allow, others are refused', async (t) => {
    const home = makeHome(t);
    for (const value of ['yes', 'TRUE', 'On', ' 1 ']) {
      const r = await runJobctl(['--home', home, 'ps'], { env: { ...AUTOSTART, JOBCTL_NO_AUTOSTART: value } });
      assertExit(r, 1, `JOBCTL_NO_AUTOSTART=${value}`);
      assert.match(r.stderr, /^jobctl: no jobctl daemon is running for /, value);
    }
    assert.equal(existsSync(join(home, 'daemon.json')), false, 'no daemon was started');
    const bad = await runJobctl(['--home', home, 'ps'], { env: { ...AUTOSTART, JOBCTL_NO_AUTOSTART: 'maybe' } });
    assertExit(bad, 2, 'JOBCTL_NO_AUTOSTART=maybe');
    assert.match(bad.stderr, /^jobctl: invalid JOBCTL_NO_AUTOSTART "maybe": 1, true, yes or on .*; 0, false, no, off or empty/);
    assert.equal(existsSync(join(home, 'daemon.json')), false, 'no daemon was started');
    // "off" means autostart is allowed (it used to mean nothing but "not 1" already; kept).
    const r = await runJobctl(['--home', home, 'run', '--', 'true'], { env: { ...AUTOSTART, JOBCTL_NO_AUTOSTART: 'off' }, timeoutMs: 30_000 });
    assertExit(r, 0, 'JOBCTL_NO_AUTOSTART=off');
    assert.ok(daemonFile(home), 'a daemon was started');
  });

  test('a stale daemon.json (its daemon is gone) does not stop autostart', async (t) => {
    const home = makeHome(t);
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(home, 'daemon.json'), JSON.stringify({ endpoint: 'wss://127.0.0.1:1', pid: gone.pid, startedAt: new Date().toISOString(), version: '0' }));
    const refused = await runJobctl(['--home', home, '--no-autostart', 'ps']);
    assertExit(refused, 1);
    assert.match(refused.stderr, /no jobctl daemon is running/);
    const r = await runJobctl(['--home', home, 'run', '--', 'true'], { env: AUTOSTART });
    assertExit(r, 0);
    assert.notEqual(daemonFile(home)?.pid, gone.pid);
  });

  test('a client arriving while the daemon shuts down starts the next one', async (t) => {
    const home = makeHome(t);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ stopGrace: '2s' }));
    const d = await startTestDaemon({ home });
    t.after(() => d.stop());
    // A job that ignores SIGTERM keeps the old daemon (and its lock) around for the grace period.
    assertExit(await d.cli(['run', '--', 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done']), 0);
    await pollUntil('the job to ignore SIGTERM', async () => (await d.cli(['logs', '1'])).stdout === 'ready\n', 10_000, 50);
    d.process.kill('SIGTERM');
    await pollUntil('the old daemon to begin its shutdown', () => !existsSync(join(home, 'daemon.json')), 5000);
    const r = await runJobctl(['--home', home, 'run', '-f', '--', 'echo', 'next'], { env: AUTOSTART, timeoutMs: 30_000 });
    assertExit(r, 0, 'the client started a new daemon once the old one was gone');
    assert.equal(r.stdout, 'next\n');
    assert.notEqual(d.process.exitCode, null, 'the old daemon has exited');
    assert.notEqual(daemonFile(home)?.pid, d.pid);
  });

  test('a daemon that cannot start is reported at once, with its reason', async (t) => {
    const home = makeHome(t);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ listen: 'nowhere' }));
    const started = Date.now();
    const r = await runJobctl(['--home', home, 'run', '--', 'true'], { env: AUTOSTART, timeoutMs: 30_000 });
    assertExit(r, 1);
    assert.match(r.stderr, /config\.listen/);
    assert.ok(Date.now() - started < 10_000, `reported after ${Date.now() - started} ms`);
  });
});

describe('daemon --detach', () => {
  test('returns once the daemon is ready, printing its endpoint; a second one is refused', async (t) => {
    const home = makeHome(t);
    const r = await runJobctl(['--home', home, 'daemon', '--detach', '--listen', '127.0.0.1:0'], { timeoutMs: 30_000 });
    const info = daemonFile(home);
    assertExit(r, 0);
    assert.ok(info && isAlive(info.pid), 'the daemon runs on after the command returned');
    assert.equal(r.stdout, `${info.endpoint}\n`);
    const ps = await runJobctl(['--home', home, 'ps'], { env: { JOBCTL_NO_AUTOSTART: '1' } });
    assertExit(ps, 0);

    const second = await runJobctl(['--home', home, 'daemon', '--detach']);
    assertExit(second, 1);
    assert.match(second.stderr, new RegExp(`^jobctl: a jobctl daemon \\(pid ${info.pid}\\) is already running for `));
    assert.equal(daemonFile(home)?.pid, info.pid, 'the running daemon is untouched');

    await killDaemon(info.pid);
    assert.equal(existsSync(join(home, 'daemon.json')), false, 'daemon.json removed on SIGTERM');
  });

  test('a start-up failure is reported with its reason', async (t) => {
    const home = makeHome(t);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ stopGrace: 'forever' }));
    const r = await runJobctl(['--home', home, 'daemon', '--detach'], { timeoutMs: 30_000 });
    assertExit(r, 1);
    assert.match(r.stderr, /config\.stopGrace/);
  });
});

describe('daemon --listen', () => {
  test('a bad HOST:PORT is a usage error (2) naming the flag, before anything starts', async (t) => {
    const home = makeHome(t);
    const cases: Array<[string[], string]> = [
      [['daemon', '--listen', 'bogus'], 'bogus'],
      [['daemon', '--detach', '--listen', '127.0.0.1:70000'], '127.0.0.1:70000'],
      [['daemon', '--listen', '::1:7443'], '::1:7443'],
      [['service', 'install', '--user', '--print', '--listen', 'host:'], 'host:'],
    ];
    for (const [args, value] of cases) {
      const r = await runJobctl(['--home', home, ...args], { timeoutMs: 20_000 });
      assertExit(r, 2, args.join(' '));
      assert.match(r.stderr, new RegExp(`^jobctl: invalid --listen "${value.replace(/[.[\]]/g, '\\$&')}": HOST:PORT`), args.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.deepEqual(readdirSync(home), [], 'no daemon started: the home is untouched');
  });
});

describe('SIGTERM', () => {
  test('stops running jobs, tells waiting clients, removes daemon.json, exits 0; a restart shows the jobs', async (t) => {
    const home = makeHome(t);
    const t0 = Date.now();
    const d = await startTestDaemon({ home });
    let restarted: Awaited<ReturnType<typeof startTestDaemon>> | null = null;
    t.after(async () => {
      if (d.process.exitCode === null) await d.stop();
      if (restarted) await restarted.stop();
    });
    const sleeper = Number((await d.cli(['run', '--', 'sleep', '600'])).stdout);
    const ticker = Number((await d.cli(['run', '--', 'sh', '-c', 'while :; do echo tick; sleep 0.02; done'])).stdout);
    const jobPids: number[] = [];
    for (const id of [sleeper, ticker]) jobPids.push(jsonOf<JobInfo>(await d.cli(['status', String(id), '--json'])).pid as number);
    // Clients attached to the jobs when the daemon is told to stop: a pending job.wait on a
    // connection, `logs -f` and `run -f` through the CLI (attached once they print output).
    const conn = await Connection.open(d.endpoint, adminIdentity(d));
    t.after(() => conn.close());
    const waiting = conn.call('job.wait', { id: sleeper });
    const env = { JOBCTL_NO_AUTOSTART: '1' };
    const following = background(['--home', home, 'logs', '-f', String(ticker)], env);
    const runF = background(['--home', home, 'run', '-f', '--', 'sh', '-c', 'echo started; exec sleep 600'], env);
    await pollUntil('`logs -f` and `run -f` to stream output', () => following.output().length > 0 && runF.output() === 'started\n', 10_000, 20);
    t.diagnostic(`clients attached after ${Date.now() - t0} ms`);

    const started = Date.now();
    d.process.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => (d.process.exitCode !== null ? r(d.process.exitCode) : d.process.once('exit', (c) => r(c))));
    assert.equal(code, 0, `the daemon exits 0; its log:\n${d.log().slice(-2000)}`);
    assert.ok(Date.now() - started < 8000, 'promptly (the jobs die of SIGTERM within the grace period)');
    assert.equal(existsSync(join(home, 'daemon.json')), false, 'daemon.json removed');
    for (const pid of jobPids) await pollUntil(`job process ${pid} to be gone`, () => !isAlive(pid), 5000);

    t.diagnostic(`daemon stopped after ${Date.now() - t0} ms`);
    const [w, f, rf] = await Promise.all([waiting, following.result, runF.result]);
    assert.equal(w.state, 'stopped', 'the pending wait is answered with the stopped job');
    assert.equal(w.signal, 'SIGTERM');
    assertExit(f, 0, 'logs -f ends with the job');
    assert.match(f.stdout, /^(tick\n)+$/);
    assert.equal(rf.code, 143, `run -f exits with the job status: ${rf.stderr}`);
    assert.equal(rf.stdout, 'started\n');

    restarted = await startTestDaemon({ home });
    t.diagnostic(`restarted after ${Date.now() - t0} ms`);
    const jobs = jsonOf<JobInfo[]>(await restarted.cli(['ps', '--all', '--json']));
    for (const id of [sleeper, ticker]) {
      const job = jobs.find((j) => j.id === id);
      assert.equal(job?.state, 'stopped', `job ${id} is stopped, not lost`);
      assert.equal(job?.signal, 'SIGTERM');
    }
    assert.ok(jobs.every((j) => j.state !== 'running'), 'nothing claims to run');
    const replay = await restarted.cli(['logs', String(ticker)]);
    assert.equal(replay.stdout, f.stdout, 'the output the follower saw is the output stored');
    const next = await restarted.cli(['run', '-f', '--', 'echo', 'after restart']);
    assertExit(next, 0);
    assert.equal(next.stdout, 'after restart\n');
  });
});

describe('SIGKILL', () => {
  test('a daemon killed outright: on restart its running jobs are lost, and say so', async (t) => {
    const home = makeHome(t);
    const d = await startTestDaemon({ home });
    t.after(() => d.stop());
    const id = Number((await d.cli(['run', '--', 'sleep', '600'])).stdout);
    const pid = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json'])).pid as number;
    d.process.kill('SIGKILL');
    await pollUntil('the daemon to die', () => d.process.exitCode !== null || d.process.signalCode !== null, 5000);
    const restarted = await startTestDaemon({ home });
    t.after(() => restarted.stop());
    const status = await restarted.cli(['status', String(id)]);
    assert.match(status.stdout, /^status\s+lost \(daemon restarted\)$/m);
    const wait = await restarted.cli(['wait', String(id)]);
    assertExit(wait, 1, 'wait on a lost job');
    // It has no status of its own; stderr says so and why (it used to say nothing).
    assert.equal(wait.stderr, `jobctl: job ${id} was lost, it has no exit status: daemon restarted while the job ran; its processes were killed\n`);
    await pollUntil(`the job process ${pid} to be gone`, () => !isAlive(pid), 5000);
  });
});
