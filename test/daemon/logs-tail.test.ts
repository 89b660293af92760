// `logs --tail N` against a real daemon over real TLS: the end point of a replay is the log's end when
// the request is handled, lines are counted per stream, and a huge tail over a large log does not
// stall other clients.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Connection } from '../../src/client/connection.ts';
import type { IdentityPems } from '../../src/pki/index.ts';
import type { StreamId } from '../../src/rpc/model.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, connect, percentile, spec, stopDaemon } from '../reliability/helpers.ts';

let d: TestDaemon;
let admin: IdentityPems;

before(async () => {
  d = await startTestDaemon();
  admin = adminIdentity(d);
});
after(async () => {
  await stopDaemon(d);
  rmSync(d.home, { recursive: true, force: true });
});

/** Replays a job's output (no follow) with the given params; returns each stream's text. */
async function replay(c: Connection, params: { id: number; tailLines?: number; streams?: Array<'stdout' | 'stderr'> }): Promise<{ pieces: Array<[StreamId, string]>; reason: string }> {
  const pieces: Array<[StreamId, string]> = [];
  const { done } = await c.streamLogs({ ...params, follow: false }, {
    onChunk: (stream, data) => {
      const last = pieces.at(-1);
      if (last && last[0] === stream) last[1] += data.toString();
      else pieces.push([stream, data.toString()]);
    },
  });
  return { pieces, reason: await done };
}

const textOf = (pieces: Array<[StreamId, string]>, s: StreamId): string => pieces.filter(([p]) => p === s).map(([, t]) => t).join('');
/** Lines as tail(1) counts them: an unterminated last line counts. */
const lineCount = (text: string): number => (text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0));

describe('logs --tail', () => {
  test('of a running job that writes fast: exactly N lines, 30 times (the end point is taken when the request is handled)', async (t) => {
    const c = await connect(t, d.endpoint, admin);
    const job = await c.call('job.start', spec(['sh', '-c', 'i=0; while :; do echo "line $i"; i=$((i+1)); done']));
    const counts: number[] = [];
    try {
      // Until it has written a few lines (so a tail has 3 to find).
      await pollUntil('3 lines of output', async () => lineCount(textOf((await replay(c, { id: job.id, tailLines: 10 })).pieces, 1)) > 3);
      for (let i = 0; i < 30; i++) {
        const { pieces, reason } = await replay(c, { id: job.id, tailLines: 3, streams: i % 2 === 0 ? undefined : ['stdout'] });
        assert.equal(reason, 'finished');
        counts.push(lineCount(textOf(pieces, 1)));
      }
    } finally {
      await c.call('job.stop', { id: job.id, graceMs: 0 });
    }
    assert.deepEqual(counts, Array(30).fill(3), `lines printed by 30 runs of --tail 3`);
  });

  test('counts lines per stream: a stderr chunk inside an unfinished stdout line does not split it', async (t) => {
    const c = await connect(t, d.endpoint, admin);
    // The pauses order the writes across the two pipes (each its own chunk).
    const script = [
      'printf "out-1\\nout-2 begins"',
      'sleep 0.2',
      'printf "err-1\\n" >&2',
      'sleep 0.2',
      'printf " and ends\\nout-3\\n"',
      'sleep 0.2',
      'printf "err-2\\nerr-3" >&2',
    ].join('; ');
    const job = await c.call('job.start', spec(['sh', '-c', script]));
    await c.call('job.wait', { id: job.id });
    const all = await replay(c, { id: job.id });
    assert.deepEqual(all.pieces.map(([s]) => s), [1, 2, 1, 2], `the chunks came in the order written: ${JSON.stringify(all.pieces)}`);

    const two = await replay(c, { id: job.id, tailLines: 2 });
    // stdout: its own last 2 lines, whole (err-1 came in the middle of the first and is not among
    // stderr's last 2); stderr: its own last 2 lines.
    assert.deepEqual(two.pieces, [
      [1, 'out-2 begins and ends\nout-3\n'],
      [2, 'err-2\nerr-3'],
    ]);

    const one = await replay(c, { id: job.id, tailLines: 1 });
    assert.deepEqual(one.pieces, [[1, 'out-3\n'], [2, 'err-3']]);
    const stdoutOnly = await replay(c, { id: job.id, tailLines: 2, streams: ['stdout'] });
    assert.deepEqual(stdoutOnly.pieces, [[1, 'out-2 begins and ends\nout-3\n']]);
    const three = await replay(c, { id: job.id, tailLines: 3 });
    assert.deepEqual(three.pieces, [
      [1, 'out-1\nout-2 begins'],
      [2, 'err-1\n'],
      [1, ' and ends\nout-3\n'],
      [2, 'err-2\nerr-3'],
    ]);
  });

  test('a huge tail over a large log does not stall other clients: their calls are answered meanwhile', async (t) => {
    const c = await connect(t, d.endpoint, admin);
    // 96 MiB in lines of 1000 bytes: fewer lines than asked, so the lookup reads the whole log.
    const bytes = 96 * 1024 * 1024;
    const job = await c.call('job.start', spec(['sh', '-c', `yes "$(printf %0999d 0)" | head -c ${bytes}`]));
    const ended = await c.call('job.wait', { id: job.id });
    assert.equal(ended.exitCode, 0);

    const other = await connect(t, d.endpoint, admin);
    const tailer = await connect(t, d.endpoint, admin);
    const pings: Array<{ sent: number; answered: number }> = [];
    let pinging = true;
    const pinger = (async () => {
      while (pinging) {
        const sent = performance.now();
        await other.call('session.info', {});
        pings.push({ sent, answered: performance.now() });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    // Let the pinger settle in first.
    while (pings.length < 5) await new Promise((r) => setTimeout(r, 5));
    const asked = performance.now();
    const { subscription } = await tailer.streamLogs({ id: job.id, follow: false, tailLines: 1_000_000 }, { onChunk: () => undefined });
    const answered = performance.now();
    await tailer.call('logs.unsubscribe', { subscription }).catch(() => undefined);
    // One more ping after the answer: a ping sent during a stall is answered only after it.
    const count = pings.length;
    while (pings.length < count + 2) await new Promise((r) => setTimeout(r, 5));
    pinging = false;
    await pinger;

    const during = pings.filter((p) => p.answered > asked && p.sent < answered);
    const latencies = during.map((p) => p.answered - p.sent);
    const took = answered - asked;
    t.diagnostic(
      `tail of 1e6 lines over ${bytes} bytes answered in ${took.toFixed(0)} ms; ${during.length} pings meanwhile, ` +
        `p50 ${percentile(latencies, 50).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
    );
    assert.ok(during.length >= 5, `only ${during.length} pings were answered during the ${took.toFixed(0)} ms lookup`);
    // A stall would hold a ping for (nearly) the whole lookup; a busy shared host may delay one a bit.
    assert.ok(Math.max(...latencies) < Math.max(100, took / 3), `a ping waited ${Math.max(...latencies).toFixed(0)} ms during a ${took.toFixed(0)} ms lookup`);
  });
});
