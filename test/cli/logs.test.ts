// A job's output through `jobctl logs` and the client library: byte-exact replay (random binary
// included), --tail, --stream, --timestamps, --json, following live output, a closed pipe
// (`logs -f | head -n 1`) and a hundred concurrent followers that must all see the same bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { JOBCTL, startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, assertExit, jsonOf, startJob, waitEnded } from './helpers.ts';

let d: TestDaemon;
let dir: string;

before(async () => {
  d = await startTestDaemon();
  dir = mkdtempSync(join(tmpdir(), 'jobctl-logs-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await d.stop(), 0);
});

/** Starts `jobctl run -- ARGV` and returns the id. */
async function run(argv: string[]): Promise<number> {
  const r = await d.cli(['run', '--', ...argv]);
  assertExit(r, 0, `run ${argv.join(' ')}`);
  return Number(r.stdout);
}

/** "1\n2\n…n\n", what `seq 1 n` prints. */
function seqText(from: number, to: number): string {
  let s = '';
  for (let i = from; i <= to; i++) s += `${i}\n`;
  return s;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('replay', () => {
  test('random binary output is replayed byte for byte after the job finished', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, 'random.bin');
    writeFileSync(file, data);
    const id = await run(['cat', file]);
    const job = await waitEnded(d, id);
    assert.equal(job.exitCode, 0);
    assert.equal(job.log.storedBytes, data.length);
    const r = await d.cli(['logs', String(id)]);
    assertExit(r, 0);
    assert.equal(r.stdoutBytes.length, data.length);
    assert.equal(sha256(r.stdoutBytes), sha256(data), 'identical bytes');
    assert.equal(r.stderr, '');
  });

  test('into a pipe read late, nothing is cut off: the last piece of output reaches the reader', async () => {
    // 64 KiB fill the pipe; the 10 KiB after them wait in jobctl's own buffer, under the high-water
    // mark. jobctl used to exit without flushing them (seen as a flaky hash mismatch in CI).
    const id = await run(['sh', '-c', 'head -c 65536 /dev/zero | tr "\\0" a; sleep 0.3; head -c 10240 /dev/zero | tr "\\0" b']);
    await waitEnded(d, id);
    const count = join(dir, `late-reader-${id}`);
    const sh = spawn('/bin/sh', ['-c', `"${process.execPath}" "${JOBCTL}" --home "${d.home}" logs ${id} | { sleep 1.5; wc -c > "${count}"; }`], {
      env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' },
      stdio: 'ignore',
    });
    await new Promise((resolve) => sh.once('close', resolve));
    assert.equal(readFileSync(count, 'utf8').trim(), String(65536 + 10240));
  });

  test('--json: one object per chunk whose data (UTF-8 or base64) adds up to the bytes written', async () => {
    const data = Buffer.concat([Buffer.from('text line\n'), randomBytes(200_000), Buffer.from('\nlast')]);
    const file = join(dir, 'mixed.bin');
    writeFileSync(file, data);
    const id = await run(['sh', '-c', `cat ${file}; printf 'to stderr\\n' >&2`]);
    await waitEnded(d, id);
    const r = await d.cli(['logs', String(id), '--json']);
    assertExit(r, 0);
    assert.ok(r.stdout.endsWith('\n'));
    const chunks = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { stream: string; time: string; seq: number; data: string; encoding?: string });
    let stdout = Buffer.alloc(0);
    let stderr = '';
    let lastSeq = 0;
    for (const c of chunks) {
      assert.ok(c.stream === 'stdout' || c.stream === 'stderr');
      assert.ok(!Number.isNaN(Date.parse(c.time)), 'time is an ISO date');
      assert.ok(c.seq > lastSeq, 'chunks in order');
      lastSeq = c.seq;
      const bytes = c.encoding === 'base64' ? Buffer.from(c.data, 'base64') : Buffer.from(c.data, 'utf8');
      if (c.stream === 'stdout') stdout = Buffer.concat([stdout, bytes]);
      else stderr += bytes.toString();
    }
    assert.ok(chunks.some((c) => c.encoding === 'base64'), 'binary data travels as base64');
    assert.equal(sha256(stdout), sha256(data));
    assert.equal(stderr, 'to stderr\n');
  });
});

describe('--tail, --stream, --timestamps', () => {
  test('--tail N prints exactly the last N lines', async () => {
    const id = await run(['seq', '1', '1000']);
    await waitEnded(d, id);
    for (const n of [1, 7, 999, 1000]) {
      const r = await d.cli(['logs', String(id), '--tail', String(n)]);
      assertExit(r, 0);
      assert.equal(r.stdout, seqText(1001 - n, 1000), `--tail ${n}`);
    }
    assert.equal((await d.cli(['logs', String(id), '--tail', '5000'])).stdout, seqText(1, 1000), 'more lines than there are: all of them');
  });

  test('--tail across many chunks and a last line without a newline', async () => {
    const id = await run(['sh', '-c', 'seq 1 300000; printf "no newline"']);
    await waitEnded(d, id);
    const r = await d.cli(['logs', String(id), '--tail', '3']);
    assertExit(r, 0);
    assert.equal(r.stdout, '299999\n300000\nno newline');
  });

  test('--tail with --stream counts the lines of that stream only', async () => {
    const id = await run(['sh', '-c', 'for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done']);
    await waitEnded(d, id);
    const out = await d.cli(['logs', String(id), '--tail', '2', '--stream', 'stdout']);
    assert.equal(out.stdout, 'out4\nout5\n');
    assert.equal(out.stderr, '');
    const err = await d.cli(['logs', String(id), '--tail', '2', '--stream', 'stderr']);
    assert.equal(err.stdout, '');
    assert.equal(err.stderr, 'err4\nerr5\n');
  });

  test('--timestamps prefixes every line with the time it was captured', async () => {
    const before = Date.now() - 1000;
    const id = await run(['sh', '-c', 'printf "one\\ntwo\\n"; printf "err\\n" >&2; printf "three"']);
    await waitEnded(d, id);
    const r = await d.cli(['logs', String(id), '--timestamps']);
    assertExit(r, 0);
    const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;
    const lines = r.stdout.split(/(?<=\n)/);
    assert.equal(lines.length, 3);
    for (const line of [...lines, r.stderr]) {
      const m = stamp.exec(line);
      assert.ok(m, `a timestamp starts ${JSON.stringify(line)}`);
      const t = Date.parse(m[1] as string);
      assert.ok(t >= before && t <= Date.now());
    }
    assert.equal(r.stdout.replace(new RegExp(stamp.source, 'gm'), ''), 'one\ntwo\nthree');
    assert.equal(r.stderr.replace(stamp, ''), 'err\n');
  });
});

describe('following', () => {
  test('-f streams live output and ends when the job ends; --tail 0 -f only new output', async () => {
    const gate = join(dir, 'gate-follow');
    const id = await run(['sh', '-c', `echo before; while [ ! -e ${gate} ]; do sleep 0.02; done; echo after`]);
    const follow = (args: string[]) => {
      const child = spawn(process.execPath, [JOBCTL, '--home', d.home, 'logs', ...args, String(id)], { env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' } });
      const f = { child, out: '', exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
      child.stdout.on('data', (b: Buffer) => (f.out += b.toString()));
      return f;
    };
    const all = follow(['-f']);
    const fresh = follow(['-f', '--tail', '0']);
    try {
      await pollUntil('the follower to print the first line', () => all.out === 'before\n', 10_000);
      // The --tail 0 follower shows nothing yet; it is attached once the daemon counts its session.
      await pollUntil('both followers to be attached', () => (d.log().match(new RegExp(`logs subscribed user=\\S+ job=${id} follow=true`, 'g')) ?? []).length >= 2, 10_000);
      assert.equal(all.child.exitCode, null, 'still following while the job runs');
      assert.equal(fresh.child.exitCode, null);
      writeFileSync(gate, '');
      assert.equal(await all.exited, 0);
      assert.equal(all.out, 'before\nafter\n');
      assert.equal(await fresh.exited, 0);
      assert.equal(fresh.out, 'after\n');
    } finally {
      all.child.kill();
      fresh.child.kill();
    }
    const none = await d.cli(['logs', '--tail', '0', String(id)]);
    assertExit(none, 0);
    assert.equal(none.stdout, '');
  });

  test('`logs -f ID | head -n 1` on an endless job ends promptly with status 0; the daemon stays healthy', async () => {
    const id = await run(['yes', 'line']);
    const status = join(dir, 'head-status');
    const started = Date.now();
    // The shell reports jobctl's own status through a file: a pipeline's status is head's.
    const sh = spawn('/bin/sh', ['-c', `{ "${process.execPath}" "${JOBCTL}" --home "${d.home}" logs -f ${id}; echo $? > "${status}"; } | head -n 1`], {
      env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    sh.stdout.on('data', (b: Buffer) => (out += b.toString()));
    sh.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => sh.kill('SIGKILL'), 15_000);
      sh.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const took = Date.now() - started;
    assert.equal(code, 0, err);
    assert.equal(out, 'line\n');
    assert.ok(took < 5000, `returned in ${took} ms`);
    await pollUntil('jobctl to record its status', () => existsSync(status) && readFileSync(status, 'utf8') !== '', 2000);
    assert.equal(readFileSync(status, 'utf8'), '0\n', 'jobctl logs -f itself exited 0');
    assert.equal(err, '', 'nothing on stderr');

    const running = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json']));
    assert.equal(running.state, 'running', 'the job goes on');
    assertExit(await d.cli(['stop', String(id), '--grace', '0']), 0);
    assertExit(await d.cli(['info']), 0, 'the daemon still answers');
  });

  test('`logs -f ID | head -n 1` ends promptly even when the job then stays silent (the closed pipe is noticed without a write)', async () => {
    // The job writes one line and then nothing: before, jobctl noticed head was gone only at the
    // next write (EPIPE), i.e. never for this job.
    const id = await run(['sh', '-c', 'echo line; exec sleep 600']);
    const status = join(dir, `silent-head-status-${id}`);
    const started = Date.now();
    const sh = spawn('/bin/sh', ['-c', `{ "${process.execPath}" "${JOBCTL}" --home "${d.home}" logs -f ${id}; echo $? > "${status}"; } | head -n 1`], {
      env: { ...process.env, JOBCTL_NO_AUTOSTART: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    sh.stdout.on('data', (b: Buffer) => (out += b.toString()));
    sh.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => sh.kill('SIGKILL'), 15_000);
      sh.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, err);
    assert.equal(out, 'line\n');
    // head exits at once; the shell's `echo $?` needs jobctl to have ended.
    await pollUntil('jobctl to end after head left', () => existsSync(status) && readFileSync(status, 'utf8') !== '', 5000);
    const took = Date.now() - started;
    assert.ok(took < 5000, `jobctl ended ${took} ms after it started`);
    assert.equal(readFileSync(status, 'utf8'), '0\n', 'jobctl logs -f itself exited 0');
    assert.equal(err, '', 'nothing on stderr (no warning either)');
    const running = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json']));
    assert.equal(running.state, 'running', 'the job goes on');
    assertExit(await d.cli(['stop', String(id), '--grace', '0']), 0);
  });

  test('`logs -f` into a file or a live pipe keeps following a silent job (no false alarm)', async () => {
    const id = await run(['sh', '-c', 'echo line; exec sleep 600']);
    const file = join(dir, `follow-to-file-${id}`);
    const env = { ...process.env, JOBCTL_NO_AUTOSTART: '1' };
    const toFile = spawn('/bin/sh', ['-c', `exec "${process.execPath}" "${JOBCTL}" --home "${d.home}" logs -f ${id} > "${file}"`], { env, stdio: 'ignore' });
    const toCat = spawn('/bin/sh', ['-c', `"${process.execPath}" "${JOBCTL}" --home "${d.home}" logs -f ${id} | cat`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let catOut = '';
    toCat.stdout.on('data', (b: Buffer) => (catOut += b.toString()));
    try {
      await pollUntil('both followers to print the line', () => catOut === 'line\n' && existsSync(file) && readFileSync(file, 'utf8') === 'line\n', 10_000);
      // Several check intervals (100 ms each) pass: neither may have ended.
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(toFile.exitCode, null, 'the follower into a file still runs');
      assert.equal(toCat.exitCode, null, 'the follower into a live pipe still runs');
    } finally {
      assertExit(await d.cli(['stop', String(id), '--grace', '0']), 0);
    }
    // The job's end ends both, with status 0.
    const codes = await Promise.all([toFile, toCat].map((c) => (c.exitCode !== null ? c.exitCode : new Promise((r) => c.once('exit', r)))));
    assert.deepEqual(codes, [0, 0]);
  });

  test('100 concurrent followers receive byte-identical output', async () => {
    const gate = join(dir, 'gate-100');
    const expected = seqText(1, 200_000) + seqText(1, 50_000);
    const admin = adminIdentity(d);
    const control = await Connection.open(d.endpoint, admin);
    const conns: Connection[] = [];
    try {
      // The job writes nothing until every follower is attached, so all of them follow live output.
      const job = await startJob(control, ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.02; done; seq 1 200000; echo err >&2; seq 1 50000`]);
      const opened = await Promise.all(Array.from({ length: 100 }, () => Connection.open(d.endpoint, admin)));
      conns.push(...opened);
      const received = conns.map(() => ({ out: [] as Buffer[], err: [] as Buffer[] }));
      const streams = await Promise.all(
        conns.map((c, i) =>
          c.streamLogs({ id: job.id, follow: true }, {
            onChunk(stream, data) {
              // Slow some followers down: pacing must not change what they see.
              const target = stream === 1 ? received[i]!.out : received[i]!.err;
              target.push(Buffer.from(data));
              if (i % 10 === 0) return new Promise((r) => setTimeout(r, 1));
            },
          }),
        ),
      );
      writeFileSync(gate, '');
      const reasons = await Promise.all(streams.map((s) => s.done));
      assert.ok(reasons.every((r) => r === 'finished'), `every follower ended with the job: ${[...new Set(reasons)].join(', ')}`);
      const want = sha256(expected);
      for (const [i, r] of received.entries()) {
        assert.equal(sha256(Buffer.concat(r.out)), want, `follower ${i} stdout`);
        assert.equal(Buffer.concat(r.err).toString(), 'err\n', `follower ${i} stderr`);
      }
      const replay = await d.cli(['logs', String(job.id), '--stream', 'stdout']);
      assert.equal(sha256(replay.stdoutBytes), want, 'and the stored output is the same');
      assertExit(await d.cli(['info']), 0, 'the daemon still answers');
    } finally {
      for (const c of conns) c.close();
      control.close();
    }
  });
});
