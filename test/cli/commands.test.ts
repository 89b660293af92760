// Every one-shot subcommand through the real binary against a real daemon: what it prints (text and
// --json), and the exit statuses of DESIGN.md's contract (0 ok, 1 error, 2 usage, the job's own status
// for run -f and wait). Colour appears only on a terminal and never with NO_COLOR.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobInfo } from '../../src/rpc/model.ts';
import type { AuditEntry, CertInfo, DaemonInfo, SessionInfo } from '../../src/rpc/results.ts';
import { JOBCTL, runJobctl, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { isAlive, pollUntil } from '../support/poll.ts';
import { assertExit, issueIdentity, jsonOf, tempDir, waitEnded } from './helpers.ts';

const REQUIRED_KEYS = ['id', 'name', 'owner', 'state', 'exitCode', 'signal', 'oomKilled', 'argv', 'cwd', 'limits', 'startedAt', 'endedAt', 'usage'];

let d: TestDaemon;
let dirs: string;
let alice: string;

before(async () => {
  d = await startTestDaemon();
  dirs = mkdtempSync(join(tmpdir(), 'jobctl-cli-'));
  alice = join(dirs, 'alice');
  await issueIdentity(d, 'alice', 'user', alice);
});
after(async () => {
  rmSync(dirs, { recursive: true, force: true });
  assert.equal(await d.stop(), 0, 'the daemon exits 0 on SIGTERM');
});

/** `jobctl run -- ARGV`, asserting it printed an id; returns the id. */
async function run(argv: string[], flags: string[] = []): Promise<number> {
  const r = await d.cli(['run', ...flags, '--', ...argv]);
  assertExit(r, 0, `run ${argv.join(' ')}`);
  assert.match(r.stdout, /^[1-9]\d*\n$/, 'run prints the job id alone');
  return Number(r.stdout);
}

/** The value of one "key  value" line of `jobctl status ID`. */
async function statusLine(id: number, key = 'status'): Promise<string> {
  const r = await d.cli(['status', String(id)]);
  assertExit(r, 0, 'status');
  const m = new RegExp(`^${key}\\s{2,}(.*)$`, 'm').exec(r.stdout);
  assert.ok(m, `status output has a ${key} line:\n${r.stdout}`);
  return m[1] as string;
}

describe('run', () => {
  test('prints the job id alone, and nothing on stderr', async () => {
    const r = await d.cli(['run', '--', 'true']);
    assertExit(r, 0);
    assert.match(r.stdout, /^[1-9]\d*\n$/);
    assert.equal(r.stderr, '');
    const job = await waitEnded(d, Number(r.stdout));
    assert.deepEqual(job.argv, ['true']);
  });

  test('--json prints the job object', async () => {
    const job = jsonOf<JobInfo>(await d.cli(['run', '--json', '--name', 'json-run', '--', 'sh', '-c', 'exit 0']));
    for (const key of REQUIRED_KEYS) assert.ok(key in job, `run --json has ${key}`);
    assert.equal(job.name, 'json-run');
    assert.deepEqual(job.argv, ['sh', '-c', 'exit 0']);
    assert.equal(job.cwd, process.cwd());
  });

  test('-f streams stdout and stderr apart and exits with the job code', async () => {
    const r = await d.cli(['run', '-f', '--', 'sh', '-c', 'echo out; echo err >&2; echo out2; exit 3']);
    assertExit(r, 3);
    assert.equal(r.stdout, 'out\nout2\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('-f exits with 128 + signal when a signal ended the job', async () => {
    assertExit(await d.cli(['run', '-f', '--', 'sh', '-c', 'kill -TERM $$']), 143, 'SIGTERM');
    assertExit(await d.cli(['run', '-f', '--', 'sh', '-c', 'kill -KILL $$']), 137, 'SIGKILL');
  });

  test('-f --json: stdout is JSON lines only — the output as logs --json prints it, then the final job; the exit status is the job\'s', async () => {
    const r = await d.cli(['run', '-f', '--json', '--', 'sh', '-c', 'echo out; echo err >&2; printf "no newline"; exit 3']);
    assertExit(r, 3);
    assert.equal(r.stderr, '', 'the job\'s stderr is a JSON line on stdout too');
    const lines = r.stdout.split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    const objects = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const final = objects.pop() as unknown as JobInfo;
    assert.equal(final.state, 'exited');
    assert.equal(final.exitCode, 3);
    for (const key of REQUIRED_KEYS) assert.ok(key in final, `the final object has ${key}`);
    const chunks = objects as Array<{ stream: string; data: string; seq: number; time: string }>;
    assert.equal(chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join(''), 'out\nno newline');
    assert.equal(chunks.filter((c) => c.stream === 'stderr').map((c) => c.data).join(''), 'err\n');
    // The same objects as logs --json prints for that job.
    const logs = await d.cli(['logs', '--json', String(final.id)]);
    assertExit(logs, 0);
    assert.deepEqual(chunks, logs.stdout.trimEnd().split('\n').map((l) => JSON.parse(l)));

    const failed = await d.cli(['run', '-f', '--json', '--', '/nonexistent/command']);
    assertExit(failed, 1);
    const job = JSON.parse(failed.stdout) as JobInfo;
    assert.equal(failed.stdout, `${JSON.stringify(job)}\n`, 'one line');
    assert.equal(job.state, 'failed');
    assert.match(failed.stderr, /failed to start: .*ENOENT/);
  });

  test('-f of a command that cannot start exits 1 and says why', async () => {
    const r = await d.cli(['run', '-f', '--', '/nonexistent/command']);
    assertExit(r, 1);
    assert.match(r.stderr, /failed to start: .*ENOENT/);
  });

  test('-f into a pipe the reader closes (| head -n 1): quietly status 0', async () => {
    const status = join(dirs, 'run-head-status');
    const cmd = `{ "${process.execPath}" "${JOBCTL}" --home "${d.home}" run -f --name endless -- yes; echo $? > "${status}"; } | head -n 1`;
    const r = spawnSync('/bin/sh', ['-c', cmd], { env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' }, encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.stdout, 'y\n');
    assert.equal(r.stderr, '');
    await pollUntil('jobctl to record its status', () => existsSync(status) && readFileSync(status, 'utf8') !== '', 5000);
    assert.equal(readFileSync(status, 'utf8'), '0\n');
    const job = jsonOf<JobInfo[]>(await d.cli(['ps', '--json', '--state', 'running'])).find((j) => j.name === 'endless');
    assert.ok(job, 'the job goes on');
    assertExit(await d.cli(['stop', String(job.id), '--grace', '0']), 0);
  });

  test('-f into a pipe the reader closes while the job is silent: ends promptly, status 0, the job goes on', async () => {
    const status = join(dirs, 'run-silent-head-status');
    const cmd = `{ "${process.execPath}" "${JOBCTL}" --home "${d.home}" run -f --name silent -- sh -c 'echo first; exec sleep 600'; echo $? > "${status}"; } | head -n 1`;
    const started = Date.now();
    const r = spawnSync('/bin/sh', ['-c', cmd], { env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' }, encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.stdout, 'first\n');
    await pollUntil('jobctl to end after head left', () => existsSync(status) && readFileSync(status, 'utf8') !== '', 5000);
    assert.ok(Date.now() - started < 5000, `ended after ${Date.now() - started} ms`);
    assert.equal(readFileSync(status, 'utf8'), '0\n');
    assert.equal(r.stderr, '');
    const job = jsonOf<JobInfo[]>(await d.cli(['ps', '--json', '--state', 'running'])).find((j) => j.name === 'silent');
    assert.ok(job, 'the job goes on');
    assertExit(await d.cli(['stop', String(job.id), '--grace', '0']), 0);
  });

  test('-f interrupted (Ctrl-C): 130, the job goes on and the message says how to reach it', async () => {
    const child = spawn(process.execPath, [JOBCTL, '--home', d.home, 'run', '-f', '--', 'sh', '-c', 'echo started; exec sleep 600'], { env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await pollUntil('the job output', () => out === 'started\n', 10_000);
      child.kill('SIGINT');
      assert.equal(await exited, 130);
    } finally {
      child.kill('SIGKILL');
    }
    const m = /^jobctl: detached; job (\d+) keeps running \(jobctl logs -f \1 to follow it again, jobctl stop \1 to stop it\)\n$/.exec(err);
    assert.ok(m, err);
    assert.equal(await statusLine(Number(m[1])), 'running');
    assertExit(await d.cli(['stop', m[1] as string, '--grace', '0']), 0);
  });

  test('--name, --env, --cwd and --clean-env shape the job', async () => {
    const env = { JOBCTL_TEST_SENTINEL: 'from-client' };
    const r = await d.cli(['run', '-f', '--name', 'shaped', '--env', 'FOO=b=ar', '--cwd', '/tmp', '--', 'sh', '-c', 'echo "$FOO"; pwd; echo "${JOBCTL_TEST_SENTINEL:-none}"'], { env });
    assertExit(r, 0);
    assert.equal(r.stdout, 'b=ar\n/tmp\nfrom-client\n');
    const clean = await d.cli(['run', '-f', '--clean-env', '--', 'sh', '-c', 'echo "${JOBCTL_TEST_SENTINEL:-none}"'], { env });
    assertExit(clean, 0);
    assert.equal(clean.stdout, 'none\n');
  });
});

describe('status', () => {
  test('text forms: exited (code N), stopped (signal SIGTERM), failed (reason)', async () => {
    const ok = await run(['true']);
    await waitEnded(d, ok);
    assert.equal(await statusLine(ok), 'exited (code 0)');

    const five = await run(['sh', '-c', 'exit 5']);
    await waitEnded(d, five);
    assert.equal(await statusLine(five), 'exited (code 5)');

    const sleeper = await run(['sleep', '600']);
    assert.equal(await statusLine(sleeper), 'running');
    const stop = await d.cli(['stop', String(sleeper), '--grace', '5s']);
    assertExit(stop, 0);
    assert.equal(stop.stdout, `job ${sleeper} stopped (signal SIGTERM)\n`);
    assert.equal(await statusLine(sleeper), 'stopped (signal SIGTERM)');

    const r = await d.cli(['run', '--', '/nonexistent/command']);
    assertExit(r, 1, 'run of a command that cannot start');
    const failed = Number(r.stdout);
    assert.ok(failed > 0, 'the failed job still has an id');
    assert.match(await statusLine(failed), /^failed \(.*ENOENT.*\)$/);
  });

  test('--json carries the contract keys and the real values', async () => {
    const id = await run(['sh', '-c', 'exit 4'], ['--name', 'j4']);
    await waitEnded(d, id);
    const job = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json']));
    for (const key of REQUIRED_KEYS) assert.ok(key in job, `status --json has ${key}`);
    assert.equal(job.id, id);
    assert.equal(job.name, 'j4');
    assert.equal(job.state, 'exited');
    assert.equal(job.exitCode, 4);
    assert.equal(job.signal, null);
    assert.equal(job.oomKilled, false);
    assert.deepEqual(job.argv, ['sh', '-c', 'exit 4']);
    assert.equal(job.cwd, process.cwd());
    assert.deepEqual(job.limits, {});
    assert.ok(Date.parse(job.startedAt as string) <= Date.parse(job.endedAt as string));
    assert.equal(typeof job.usage.cpuUsec, 'number');
    assert.equal(typeof job.owner, 'string');
  });

  test('", out of memory" when the OOM killer fired', async (t) => {
    const info = jsonOf<{ daemon: DaemonInfo }>(await d.cli(['info', '--json']));
    if (!info.daemon.limits.memory.enforceable) return t.skip(`memory limits not enforceable here: ${info.daemon.limits.memory.reason}`);
    const r = await d.cli(['run', '--memory', '32M', '--', 'sh', '-c', 'head -c 400000000 /dev/zero | tail -n 1']);
    assertExit(r, 0, 'run --memory 32M');
    const id = Number(r.stdout);
    const wait = await d.cli(['wait', String(id)], { timeoutMs: 60_000 });
    assertExit(wait, 137, 'wait on the OOM-killed job');
    const text = await statusLine(id);
    assert.match(text, /^(exited \(code 137\)|exited \(signal SIGKILL\)), out of memory$/);
    const job = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json']));
    assert.equal(job.oomKilled, true);
    assert.equal(job.limits.memory, 32 * 1024 * 1024);
  });
});

describe('stop and wait', () => {
  test('stop --grace: SIGTERM first, kill after the grace period', async () => {
    const id = await run(['sh', '-c', 'trap "" TERM; while :; do sleep 0.05; done']);
    const started = Date.now();
    const r = await d.cli(['stop', String(id), '--grace', '1s', '--json']);
    const took = Date.now() - started;
    const job = jsonOf<JobInfo>(r);
    assert.equal(job.state, 'stopped');
    assert.equal(job.signal, 'SIGKILL');
    assert.ok(took >= 1000, `the grace period was honoured (${took} ms)`);
    assert.ok(took < 8000, `the kill came soon after the grace period (${took} ms)`);
    assert.ok(job.pid !== null && !isAlive(job.pid), 'nothing of the job is left');
  });

  test('a stop in its grace period is in the audit trail already, stamped when it was asked', async () => {
    const id = await run(['sh', '-c', 'trap "" TERM; echo armed; while :; do sleep 0.05; done']);
    await pollUntil('the job to install its trap', async () => (await d.cli(['logs', String(id)])).stdout === 'armed\n', 10_000, 50);
    const asked = Date.now();
    const stopping = d.cli(['stop', String(id), '--grace', '20s']);
    const entry = await pollUntil(
      'job.stop in the audit while the stop waits',
      async () => jsonOf<AuditEntry[]>(await d.cli(['audit', '--json', '--limit', '50'])).find((e) => e.method === 'job.stop' && e.target === `job ${id}`),
      10_000,
      50,
    );
    assert.equal(entry.ok, true);
    assert.ok(Date.parse(entry.time) - asked < 5000, `stamped ${Date.parse(entry.time) - asked} ms after the request`);
    assertExit(await d.cli(['stop', String(id), '--grace', '0']), 0);
    assertExit(await stopping, 0);
    const entries = jsonOf<AuditEntry[]>(await d.cli(['audit', '--json', '--limit', '50'])).filter((e) => e.method === 'job.stop' && e.target === `job ${id}`);
    assert.equal(entries.length, 2, 'one entry per stop call, none added when the first one ended');
  });

  test('a job that exits on SIGTERM is stopped with its own code', async () => {
    const id = await run(['sh', '-c', 'trap "exit 7" TERM; echo ready; while :; do sleep 0.05; done']);
    // The trap must be installed before the stop.
    await pollUntil('the job to install its trap', async () => (await d.cli(['logs', String(id)])).stdout === 'ready\n', 10_000, 50);
    const r = await d.cli(['stop', String(id), '--grace', '10s']);
    assertExit(r, 0);
    assert.equal(r.stdout, `job ${id} stopped (code 7)\n`);
  });

  test('stop of a job that is not running is an error', async () => {
    const id = await run(['true']);
    await waitEnded(d, id);
    const r = await d.cli(['stop', String(id)]);
    assertExit(r, 1);
    assert.match(r.stderr, new RegExp(`^jobctl: job ${id} is not running \\(it is exited\\)`));
  });

  test('wait exits with the job status: code, 128 + signal, 1 for a failed start', async () => {
    const code = await run(['sh', '-c', 'sleep 0.2; exit 9']);
    assertExit(await d.cli(['wait', String(code)]), 9, 'exit 9');
    const killed = await run(['sh', '-c', 'kill -INT $$']);
    assertExit(await d.cli(['wait', String(killed)]), 130, 'SIGINT');
    const zero = await run(['true']);
    const w = await d.cli(['wait', String(zero), '--json']);
    assert.equal(jsonOf<JobInfo>(w).exitCode, 0);
    const failed = Number((await d.cli(['run', '--', '/nonexistent/command'])).stdout);
    const w2 = await d.cli(['wait', String(failed)]);
    assertExit(w2, 1, 'failed job');
    // A failed job has no status of its own: 1, and stderr says why (it used to say nothing).
    assert.match(w2.stderr, new RegExp(`^jobctl: job ${failed} failed to start: .*/nonexistent/command.*ENOENT`));
    assert.equal(w2.stdout, '');
  });
});

describe('ps', () => {
  test('loads neither zlib nor assert (their modules are deferred in the bundle: scripts/esbuild-lazy-builtins.mjs)', async (t) => {
    const dir = tempDir(t);
    const list = join(dir, 'modules.txt');
    const preload = join(dir, 'record-modules.cjs');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
    const r = await d.cli(['ps'], { env: { NODE_OPTIONS: `--require ${preload}` } });
    assertExit(r, 0);
    const loaded = readFileSync(list, 'utf8').split('\n');
    assert.ok(loaded.includes('NativeModule tls'), 'the list is of a command that connected');
    assert.deepEqual(loaded.filter((m) => /^NativeModule (zlib|assert|child_process)$/.test(m)), []);
  });

  test('a table of jobs, newest first; --json an array of status objects', async () => {
    const a = await run(['sh', '-c', 'exit 0'], ['--name', 'ps-first']);
    const b = await run(['sleep', '600'], ['--name', 'ps-second']);
    const r = await d.cli(['ps']);
    assertExit(r, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ID\s+STATUS\s+OWNER\s+RUNTIME\s+CPU\s+MEMORY\s+NAME\/COMMAND$/);
    const rowB = lines.findIndex((l) => l.startsWith(`${b} `));
    const rowA = lines.findIndex((l) => l.startsWith(`${a} `));
    assert.ok(rowB > 0 && rowA > rowB, 'newest first');
    assert.match(lines[rowB] as string, /\brunning\b.*ps-second$/);

    const jobs = jsonOf<JobInfo[]>(await d.cli(['ps', '--json']));
    assert.ok(Array.isArray(jobs));
    for (const job of jobs) for (const key of REQUIRED_KEYS) assert.ok(key in job, `ps --json entries have ${key}`);
    const ids = jobs.map((j) => j.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => y - x), 'newest first');
    assert.ok(ids.includes(a) && ids.includes(b));

    const running = jsonOf<JobInfo[]>(await d.cli(['ps', '--state', 'running', '--json']));
    assert.ok(running.length > 0 && running.every((j) => j.state === 'running'));
    assert.ok(running.some((j) => j.id === b) && !running.some((j) => j.id === a));
    const both = jsonOf<JobInfo[]>(await d.cli(['ps', '--state', 'running', 'exited', '--json']));
    assert.ok(both.some((j) => j.id === a) && both.some((j) => j.id === b));
    assertExit(await d.cli(['stop', String(b), '--grace', '0']), 0);
  });

  test('--all adds the jobs of other users; without it only your own', async () => {
    const r = await d.cli(['--identity', alice, 'run', '--', 'true']);
    assertExit(r, 0);
    const aliceJob = Number(r.stdout);
    const mine = jsonOf<JobInfo[]>(await d.cli(['ps', '--json']));
    assert.ok(!mine.some((j) => j.id === aliceJob), 'the admin sees only its own jobs without --all');
    const all = jsonOf<JobInfo[]>(await d.cli(['ps', '--all', '--json']));
    assert.equal(all.find((j) => j.id === aliceJob)?.owner, 'alice');
    const table = await d.cli(['ps', '--all']);
    assert.match(table.stdout, new RegExp(`^${aliceJob}\\s.*\\balice\\b`, 'm'));
  });

  test("one user's huge command lines do not break anybody's ps or status; a request over the frame limit is refused by name", async () => {
    // 2 jobs with ≈ 480 KB of argv each: whole, two of them would be over the 1 MiB frame limit.
    const big = Array.from({ length: 8 }, (_, i) => `${i}${'x'.repeat(60_000)}`);
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await d.cli(['--identity', alice, 'run', '--clean-env', '--', 'true', ...big]);
      assertExit(r, 0, 'a 480 KB command line is accepted');
      ids.push(Number(r.stdout));
    }
    const all = await d.cli(['ps', '--all', '--json']);
    assertExit(all, 0, "the admin's ps --all");
    const listed = jsonOf<JobInfo[]>(all).filter((j) => ids.includes(j.id));
    assert.equal(listed.length, 2);
    for (const job of listed) {
      assert.equal(job.argvTruncated, true);
      assert.ok(JSON.stringify(job.argv).length <= 4096, 'the list carries a summary of argv');
      assert.equal(job.argv[0], 'true');
    }
    assertExit(await d.cli(['--identity', alice, 'ps']), 0, "the owner's own ps");
    const status = jsonOf<JobInfo>(await d.cli(['--identity', alice, 'status', String(ids[0]), '--json']));
    assert.deepEqual(status.argv, ['true', ...big], 'status has the whole argv');
    assert.equal(status.argvTruncated, undefined);

    const tooBig = await d.cli(['--identity', alice, 'run', '--clean-env', '--', 'true', ...big, ...big]);
    assertExit(tooBig, 2, 'bad input is a usage error');
    assert.match(tooBig.stderr, /params\.argv "17 arguments": at most 524288 bytes in all, as JSON/);

    // Within every field limit, but over the frame once JSON escapes the control characters.
    const escaped = Array.from({ length: 5 }, (_, i) => ['--env', `E${i}=${'\u0001'.repeat(70_000)}`]).flat();
    const overFrame = await d.cli(['--identity', alice, 'run', '--clean-env', ...escaped, '--', 'true']);
    assert.notEqual(overFrame.code, 0);
    assert.match(overFrame.stderr, /the job\.start request cannot be sent: frame of \d+ bytes is over the 1048576-byte limit/);
  });

  test('a long failure reason does not blow the table up', async () => {
    const long = `/nonexistent/${'x'.repeat(200)}`;
    await d.cli(['run', '--', long]);
    const r = await d.cli(['ps']);
    assertExit(r, 0);
    const header = r.stdout.split('\n')[0] as string;
    assert.ok(header.length < 160, `the header stays readable (${header.length} columns): ${header}`);
  });
});

describe('logs', () => {
  test('raw bytes: stdout to stdout, stderr to stderr', async () => {
    const id = await run(['sh', '-c', 'printf "a\\nb"; printf "E\\n" >&2; printf "\\nc\\n"']);
    await waitEnded(d, id);
    const r = await d.cli(['logs', String(id)]);
    assertExit(r, 0);
    assert.equal(r.stdout, 'a\nb\nc\n');
    assert.equal(r.stderr, 'E\n');
    const out = await d.cli(['logs', String(id), '--stream', 'stdout']);
    assert.equal(out.stdout, 'a\nb\nc\n');
    assert.equal(out.stderr, '');
    const err = await d.cli(['logs', String(id), '--stream', 'stderr']);
    assert.equal(err.stdout, '');
    assert.equal(err.stderr, 'E\n');
  });
});

describe('certs', () => {
  test('issue writes an identity, list shows it, revoke revokes it', async (t) => {
    const dir = join(tempDir(t), 'carol');
    const r = await d.cli(['certs', 'issue', '--user', 'carol', '--role', 'viewer', '--out', dir, '--json']);
    const issued = jsonOf<{ serial: string; notAfter: string; dir: string }>(r);
    assert.equal(issued.dir, dir);
    assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'client.crt', 'client.key']);
    assert.equal(statSync(join(dir, 'client.key')).mode & 0o777, 0o600);

    const whoami = jsonOf<{ session: SessionInfo }>(await d.cli(['--identity', dir, 'info', '--json']));
    assert.deepEqual([whoami.session.user, whoami.session.role], ['carol', 'viewer']);

    const list = await d.cli(['certs', 'list']);
    assertExit(list, 0);
    assert.match(list.stdout, /^SERIAL\s+USER\s+ROLE\s+NOT AFTER\s+REVOKED$/m);
    assert.match(list.stdout, new RegExp(`^${issued.serial}\\s+carol\\s+viewer\\s+\\S+\\s+-$`, 'm'));

    const revoke = await d.cli(['certs', 'revoke', '--serial', issued.serial]);
    assertExit(revoke, 0);
    assert.equal(revoke.stdout, `revoked ${issued.serial}\n`);
    const certs = jsonOf<CertInfo[]>(await d.cli(['certs', 'list', '--json']));
    const carol = certs.find((c) => c.serial === issued.serial);
    assert.equal(carol?.user, 'carol');
    assert.ok(carol?.revokedAt, 'revokedAt is set');
    assertExit(await d.cli(['--identity', dir, 'ps']), 1, 'a revoked identity');

    const none = await d.cli(['certs', 'revoke', '--user', 'nobody-here']);
    assertExit(none, 1);
    assert.match(none.stderr, /no certificate was issued to user "nobody-here"/);
  });

  test('issue into a directory that already holds an identity changes nothing', async () => {
    const before = jsonOf<CertInfo[]>(await d.cli(['certs', 'list', '--json'])).length;
    const r = await d.cli(['certs', 'issue', '--user', 'alice', '--role', 'user', '--out', alice]);
    assertExit(r, 1);
    assert.match(r.stderr, /already holds an identity/);
    const later = jsonOf<CertInfo[]>(await d.cli(['certs', 'list', '--json'])).length;
    assert.equal(later, before, 'no certificate was issued whose key nobody has');
  });

  test('--out is made ready before the daemon is asked: created 0700, or refused (exit 2) with nothing issued', async (t) => {
    const count = async () => jsonOf<CertInfo[]>(await d.cli(['certs', 'list', '--json'])).length;
    const before = await count();
    const base = tempDir(t);
    const file = join(base, 'a-file');
    writeFileSync(file, '');
    const cases: Array<[string, RegExp]> = [
      // Node's recursive mkdir never returns here (it used to hang after the certificate was issued).
      ['/proc/jobctl-no/such', /^jobctl: invalid --out "\/proc\/jobctl-no\/such": a directory that exists or can be created, and can be written to \(cannot create \/proc\/jobctl-no: /],
      [file, /is not a directory\)\n$/],
      [join(file, 'below'), /a-file is not a directory\)\n$/],
      ['/proc/self', /cannot create a file in it: /],
    ];
    for (const [out, message] of cases) {
      const r = await d.cli(['certs', 'issue', '--user', 'erin', '--role', 'user', '--out', out], { timeoutMs: 10_000 });
      assertExit(r, 2, out);
      assert.match(r.stderr, message, out);
    }
    assert.equal(await count(), before, 'no certificate was issued for a directory that could not take its key');

    const nested = join(base, 'x', 'y', 'erin');
    assertExit(await d.cli(['certs', 'issue', '--user', 'erin', '--role', 'user', '--out', nested]), 0, 'missing parents are created');
    for (const dir of [join(base, 'x'), join(base, 'x', 'y'), nested]) assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
    assert.deepEqual(readdirSync(nested).sort(), ['ca.crt', 'client.crt', 'client.key'], 'no probe file is left behind');
  });

  test('issue --force replaces the identity already in --out', async (t) => {
    const dir = join(tempDir(t), 'frank');
    const first = jsonOf<{ serial: string }>(await d.cli(['certs', 'issue', '--user', 'frank', '--role', 'viewer', '--out', dir, '--json']));
    const second = jsonOf<{ serial: string }>(await d.cli(['certs', 'issue', '--user', 'frank', '--role', 'user', '--out', dir, '--force', '--json']));
    assert.notEqual(second.serial, first.serial);
    const whoami = jsonOf<{ session: SessionInfo }>(await d.cli(['--identity', dir, 'info', '--json']));
    assert.equal(whoami.session.role, 'user', 'the new identity is the one in the directory');
  });

  test('usage mistakes exit 2', async () => {
    assertExit(await d.cli(['certs', 'issue', '--user', 'dave', '--role', 'boss', '--out', '/tmp/never']), 2, 'bad role');
    assertExit(await d.cli(['certs', 'frobnicate']), 2, 'bad action');
    assertExit(await d.cli(['certs', 'issue', '--user', 'dave', '--role', 'user']), 2, 'missing --out');
    assertExit(await d.cli(['certs', 'issue', '--role', 'user', '--out', '/tmp/never']), 2, 'missing --user');
    assert.equal(existsSync('/tmp/never'), false);
  });
});

describe('info and audit', () => {
  test('info names versions, the endpoint, the caller and the limits', async () => {
    const r = await d.cli(['info']);
    assertExit(r, 0);
    assert.match(r.stdout, /^client\s+jobctl \S+ \(node v\d+.*protocol v1\)$/m);
    assert.ok(r.stdout.includes(`at ${d.endpoint}`), r.stdout);
    assert.match(r.stdout, /^you\s+\S+ \(role admin\)$/m);
    assert.match(r.stdout, /^limits:$/m);
    for (const name of ['cpu', 'memory', 'pids', 'ioRead', 'ioWrite']) assert.match(r.stdout, new RegExp(`^  ${name}\\s+(enforceable|not enforceable)`, 'm'));
    const info = jsonOf<{ client: { protocolVersion: number }; session: SessionInfo; daemon: DaemonInfo }>(await d.cli(['info', '--json']));
    assert.equal(info.daemon.endpoint, d.endpoint);
    assert.equal(info.daemon.pid, d.pid);
    assert.equal(info.daemon.paths.home, d.home);
    assert.deepEqual(info.daemon.protocolVersions, [1]);
    assert.equal(info.client.protocolVersion, 1);
    assert.equal(info.session.role, 'admin');
  });

  test('audit lists state-changing calls: who, what, when', async () => {
    const since = Date.now() - 1000;
    const id = await run(['sleep', '600']);
    assertExit(await d.cli(['stop', String(id), '--grace', '0']), 0);
    const table = await d.cli(['audit']);
    assertExit(table, 0);
    assert.match(table.stdout, /^TIME\s+USER\s+ROLE\s+METHOD\s+TARGET\s+RESULT$/m);
    assert.match(table.stdout, new RegExp(`\\sjob\\.stop\\s+job ${id}\\s+ok$`, 'm'));
    const entries = jsonOf<AuditEntry[]>(await d.cli(['audit', '--json', '--limit', '500']));
    const stop = entries.find((e) => e.method === 'job.stop' && e.target === `job ${id}`);
    const start = entries.find((e) => e.method === 'job.start' && e.target === `job ${id}`);
    for (const e of [stop, start]) {
      assert.ok(e, `audit has job.start and job.stop of job ${id}`);
      assert.equal(e.role, 'admin');
      assert.equal(e.ok, true);
      assert.ok(Date.parse(e.time) >= since && Date.parse(e.time) <= Date.now());
    }
    const denied = await d.cli(['--identity', alice, 'audit']);
    assertExit(denied, 1);
    assert.match(denied.stderr, /alice \(role user\) may not call audit\.list/);
  });
});

describe('exit statuses', () => {
  test('usage errors exit 2 with a message on stderr', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['ps', '--bogus'], /Unknown argument: bogus/],
      [['run', '--memory', 'lots', '--', 'true'], /invalid --memory "lots"/],
      [['run', '--cpu', 'many', '--', 'true'], /invalid --cpu "many"/],
      [['run', '--memory', '1', '--', 'true'], /memory/],
      [['logs', '1', '--tail', '-1'], /invalid --tail "-1"/],
      [['logs', '1', '--tail', 'lots'], /--tail/],
      [['logs', '1', '--stream', 'stdin'], /stream/],
      [['status', 'abc'], /invalid ID "abc"/],
      [['stop', '1', '--grace', 'forever'], /invalid --grace "forever"/],
      [['ps', '--state', 'sleeping'], /state/],
      [['run'], /a command to run/],
      [['run', '--env', '=x', '--', 'true'], /--env/],
      [['run', '--batch'], /Not enough arguments following: batch/],
      [[], /name a command/],
      [['frobnicate'], /Unknown argument|Unknown command/],
    ];
    const results = await Promise.all(cases.map(([args]) => d.cli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      assertExit(r, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    }
  });

  test('a bad flag value names the flag, the text typed and what is accepted: exit 2, before any connection', async (t) => {
    // A home with no daemon and autostart off: a command that connected would fail with status 1.
    const home = tempDir(t);
    const cases: Array<[string[], RegExp]> = [
      [['stop', '1', '--grace', '2h'], /^jobctl: invalid --grace "2h": too large; accepted: a duration from 0s to 1h, like 10s or 500ms\n/],
      [['logs', '1', '--tail', 'abc'], /^jobctl: invalid --tail "abc": a whole number of lines from 0 to 1000000\n/],
      [['logs', '1', '--tail', '1e3'], /^jobctl: invalid --tail "1e3": a whole number of lines from 0 to 1000000\n/],
      [['logs', '1', '--tail', '2000000'], /^jobctl: invalid --tail "2000000": too large; accepted: a whole number of lines from 0 to 1000000\n/],
      [['ps', '--limit', 'abc'], /^jobctl: invalid --limit "abc": a whole number from 1 to 10000\n/],
      [['ps', '--limit', '0'], /^jobctl: invalid --limit "0": too small; accepted: a whole number from 1 to 10000\n/],
      [['audit', '--limit', '10001'], /^jobctl: invalid --limit "10001": too large; accepted: a whole number from 1 to 10000\n/],
      [['run', '--cpu', '2000', '--', 'true'], /^jobctl: invalid --cpu "2000": too large; accepted: a number of CPU cores from 0.01 to 1024, like 0.5 or 2\n/],
      [['run', '--pids', '0', '--', 'true'], /^jobctl: invalid --pids "0": too small; accepted: a whole number of processes from 1 to 4194304\n/],
      [['run', '--name', '', '--', 'true'], /^jobctl: invalid --name "": a non-empty string\n/],
      [['certs', 'issue', '--user', 'dave', '--role', 'user', '--out', join(home, 'dave'), '--days', 'abc'], /^jobctl: invalid --days "abc": a whole number of days from 1 to 3650\n/],
      [['certs', 'issue', '--user', 'no body', '--role', 'user', '--out', join(home, 'dave')], /^jobctl: invalid --user "no body": a user name/],
      [['certs', 'revoke', '--serial', 'xyz'], /^jobctl: invalid --serial "xyz": a certificate serial/],
    ];
    const results = await Promise.all(cases.map(([args]) => runJobctl(['--home', home, ...args], { env: { JOBCTL_NO_AUTOSTART: '1' } })));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      assertExit(r, 2, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.equal(existsSync(join(home, 'dave')), false, 'a refused certs issue creates no --out directory');
  });

  test("the daemon's own refusal of a flag's value (config.json maxLimits) names the flag and the text typed", async (t) => {
    const home = tempDir(t);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ maxLimits: { memory: '64M' } }));
    const capped = await startTestDaemon({ home });
    t.after(() => capped.stop());
    const r = await capped.cli(['run', '--memory', '128M', '--', 'true']);
    assertExit(r, 2);
    assert.equal(r.stderr, 'jobctl: invalid --memory "128M": too large; accepted: at most 64MiB (the daemon\'s maximum)\n');
  });

  test('--env sizes are checked before any connection: the pair typed (shortened), what is accepted, exit 2', async (t) => {
    const home = tempDir(t);
    const big = 'v'.repeat(100_000);
    const noDaemon = { JOBCTL_NO_AUTOSTART: '1' };
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      // One value over the kernel's 128 KiB for a NAME=VALUE string.
      [['--env', `HUGE=${'x'.repeat(130_100)}`], noDaemon, /^jobctl: invalid --env "HUGE=x+\.\.\.: NAME=VALUE with a value of at most 130046 bytes as UTF-8 \(got 130100\)\n$/],
      [['--env', `${'N'.repeat(2000)}=1`], noDaemon, /^jobctl: invalid --env "N{76}\.\.\.: NAME=VALUE with a name of at most 1024 bytes as UTF-8 \(got 2000\)\n$/],
      // One variable too many: the 4097th is named.
      [Array.from({ length: 4097 }, (_, i) => ['--env', `V${i}=1`]).flat(), noDaemon, /^jobctl: invalid --env "V4096=1": one variable too many; accepted: at most 4096 variables in all\n$/],
      // Over the 384 KiB in all: the pair that crosses it is named.
      [['A', 'B', 'C', 'D'].flatMap((n) => ['--env', `${n}=${big}`]), noDaemon, /^jobctl: invalid --env "D=v+\.\.\.: the environment would hold 390\.6 KiB \(400012 bytes\); accepted: at most 384 KiB \(393216 bytes\) in all, counting NAME=VALUE of every variable\n$/],
    ];
    const results = await Promise.all(cases.map(([flags, env]) => runJobctl(['--home', home, 'run', '--clean-env', ...flags, '--', 'true'], { env })));
    for (const [i, [flags, , message]] of cases.entries()) {
      const r = results[i]!;
      const what = flags.join(' ').slice(0, 60);
      assertExit(r, 2, what);
      assert.match(r.stderr, message, what);
      assert.doesNotMatch(r.stderr, /params/, what);
    }
    // Without --clean-env the caller's environment counts too, and the message says how to leave it out.
    const inherited = await runJobctl(['--home', home, 'run', ...['A', 'B', 'C'].flatMap((n) => ['--env', `${n}=${big}`]), '--', 'true'], { env: { ...noDaemon, FILLER: big } });
    assertExit(inherited, 2, 'with the environment');
    assert.match(inherited.stderr, /^jobctl: invalid --env "C=v+\.\.\.: the environment would hold .*; accepted: at most 384 KiB \(393216 bytes\) in all, counting NAME=VALUE of every variable, your environment included \(--clean-env leaves it out: it holds \d+ variables, [\d.]+ KiB\)\n$/);
    // An environment too large by itself: no --env to blame, so the way out is said.
    const own = await runJobctl(['--home', home, 'run', '--', 'true'], { env: { ...noDaemon, ...Object.fromEntries(Array.from({ length: 4100 }, (_, i) => [`FILL${i}`, '1'])) } });
    assertExit(own, 2, 'a huge environment');
    assert.match(own.stderr, /^jobctl: invalid environment "\d+ variables": your environment is too large to pass on to a job: at most 4096 variables .*; use --clean-env and give the job what it needs with --env NAME=VALUE\n$/);
  });

  test('flag ranges are said in the units and spelling typed (512M, 10s), never in bytes or ms', async (t) => {
    const home = tempDir(t);
    const cases: Array<[string[], string]> = [
      [['run', '--memory', '1', '--', 'true'], 'invalid --memory "1": too small; accepted: a size from 1MiB to 1PiB, like 512M or 2G'],
      [['run', '--memory', '2P', '--', 'true'], 'invalid --memory "2P": too large; accepted: a size from 1MiB to 1PiB, like 512M or 2G'],
      [['run', '--io-read', '10', '--', 'true'], 'invalid --io-read "10": too small; accepted: a rate in bytes per second from 1KiB to 100GiB, like 10M or 1.5G'],
      [['run', '--io-write', '101G', '--', 'true'], 'invalid --io-write "101G": too large; accepted: a rate in bytes per second from 1KiB to 100GiB, like 10M or 1.5G'],
      [['run', '--cpu', '0', '--', 'true'], 'invalid --cpu "0": too small; accepted: a number of CPU cores from 0.01 to 1024, like 0.5 or 2'],
      [['stop', '1', '--grace', '3601'], 'invalid --grace "3601": too large; accepted: a duration from 0s to 1h, like 10s or 500ms'],
      [['certs', 'issue', '--user', 'dave', '--role', 'user', '--out', join(home, 'dave'), '--days', '0'], 'invalid --days "0": too small; accepted: a whole number of days from 1 to 3650'],
    ];
    const results = await Promise.all(cases.map(([args]) => runJobctl(['--home', home, ...args], { env: { JOBCTL_NO_AUTOSTART: '1' } })));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      assertExit(r, 2, args.join(' '));
      assert.equal(r.stderr, `jobctl: ${message}\n`, args.join(' '));
      assert.doesNotMatch(r.stderr, /\d{7}|bytes\/s|\bms\b/, 'no wire units');
    }
  });

  test('an unknown job id is an error (1) naming the id', async () => {
    const cmds = [['status'], ['stop'], ['wait'], ['logs'], ['logs', '-f']];
    const results = await Promise.all(cmds.map((cmd) => d.cli([...cmd, '999999'])));
    for (const [i, cmd] of cmds.entries()) {
      const r = results[i]!;
      assertExit(r, 1, cmd.join(' '));
      assert.equal(r.stderr, 'jobctl: no job with id 999999\n', cmd.join(' '));
      assert.equal(r.stdout, '');
    }
  });

  test('no daemon reachable: exit 1 and say so', async (t) => {
    const home = tempDir(t);
    const r = await runJobctl(['--home', home, '--no-autostart', 'ps']);
    assertExit(r, 1);
    assert.match(r.stderr, /^jobctl: no jobctl daemon is running for /);
  });
});

describe('colour', () => {
  const script = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim();
  const ESC = '\u001b[';
  const env = (extra: Record<string, string>) => {
    const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', JOBCTL_NO_AUTOSTART: '1' };
    delete e.NO_COLOR;
    return { ...e, ...extra };
  };

  test('never when stdout is not a terminal, even without NO_COLOR', async () => {
    for (const args of [['ps', '--all'], ['info']]) {
      const r = spawnSync(process.execPath, [JOBCTL, '--home', d.home, ...args], { env: env({}), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!r.stdout.includes(ESC) && !r.stderr.includes(ESC), `${args.join(' ')}: no escape sequences in a pipe`);
    }
  });

  test('on a terminal, unless NO_COLOR is set', async (t) => {
    if (!script) return t.skip('script(1) is not installed: no pseudo-terminal to test with');
    const onTty = (extra: Record<string, string>) =>
      spawnSync(script, ['-qec', `${process.execPath} ${JOBCTL} --home ${d.home} ps --all`, '/dev/null'], { env: env(extra), encoding: 'utf8' });
    const coloured = onTty({});
    assert.equal(coloured.status, 0, coloured.stdout);
    assert.ok(coloured.stdout.includes(ESC), 'a terminal gets colour (so the next check can fail)');
    const plain = onTty({ NO_COLOR: '1' });
    assert.equal(plain.status, 0, plain.stdout);
    assert.match(plain.stdout, /ID\s+STATUS/);
    assert.ok(!plain.stdout.includes(ESC), 'NO_COLOR=1 turns colour off on a terminal');
  });
});
