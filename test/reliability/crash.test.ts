// Crashes: the daemon is SIGKILLed during heavy log writes, during a storm of job starts and during
// stops (in the grace period and at the kill), then restarted on the same home, round after round.
// After every restart: the database passes PRAGMA integrity_check (opened read-only from outside),
// what a follower received is what is stored at the same positions, what is stored is exactly what the
// job wrote at those positions (the per-job cap is small here, so the oldest output is trimmed under
// the writers and their followers, and the trimmed bytes are counted as dropped, no more, no less), every job that ran is `lost` (none stuck `running`), no process of any job survives
// (grandchildren included: found by a tag in their environment), and no job cgroup is left.
// SHORT: 3 rounds; JOBCTL_LONG=1: 50. See docs/RELIABILITY.md.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobInfo } from '../../src/rpc/model.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import {
  IS_ROOT,
  adminIdentity,
  allJobs,
  connect,
  instanceDirs,
  integrityCheck,
  jobCgroups,
  jsonOf,
  killDaemon,
  killSeen,
  openReadOnly,
  processesTagged,
  scale,
  spec,
  stillRuns,
  stopDaemon,
  storedStdout,
  tempDir,
  type SeenProcess,
} from './helpers.ts';

const ROUNDS = scale(3, 50);
const TAG = 'JOBCTL_RELIABILITY_TAG';

/** Small enough that every writer outgrows it before the kill: trimming is part of every round. */
const LOG_CAP_BYTES = 16 * 1024 * 1024;

/** The line of `seq 1 N` output that holds byte `pos`, and where that line starts. */
function seqLineAt(pos: number): { n: number; start: number } {
  let digits = 1;
  let first = 1;
  let start = 0;
  for (;;) {
    const count = 9 * first; // numbers with `digits` digits
    const bytes = count * (digits + 1);
    if (pos < start + bytes) {
      const n = first + Math.floor((pos - start) / (digits + 1));
      return { n, start: start + (n - first) * (digits + 1) };
    }
    start += bytes;
    first *= 10;
    digits++;
  }
}

/**
 * True when data is exactly bytes [pos, pos + data.length) of `seq 1 N` output (consecutive decimal
 * lines from 1). Returns a description of the first mismatch instead of false.
 */
function seqSlice(data: Buffer, pos: number): true | string {
  const text = data.toString('latin1');
  let { n, start } = seqLineAt(pos);
  let at = 0;
  let skip = pos - start; // bytes of the first line before pos
  while (at < text.length) {
    const line = `${n}\n`.slice(skip);
    const rest = text.slice(at, at + line.length);
    if (rest !== line.slice(0, rest.length)) return `at byte ${pos + at}: expected ${JSON.stringify(line)}, found ${JSON.stringify(rest)}`;
    at += line.length;
    skip = 0;
    n++;
  }
  return true;
}

/** What a follower received: each chunk at its byte position in the job's output (gaps skip ahead). */
interface Received {
  pieces: Array<{ pos: number; data: Buffer }>;
  end: number;
  gaps: number;
}

interface Round {
  writers: Array<{ job: JobInfo; received: Received }>;
  /** Jobs whose start was answered before the kill. */
  started: JobInfo[];
  stopping: JobInfo[];
  procs: SeenProcess[];
  tag: string;
}

test(`SIGKILL during log writes, starts and stops, ${ROUNDS} rounds: nothing committed lost, all reconciled, nothing left`, { timeout: scale(240_000, 3_600_000) }, async (t) => {
  if (!IS_ROOT) return t.skip('needs root: job cgroups and the kill of leftovers are checked on the real hierarchy');
  const home = tempDir(t, 'jobctl-crash-');
  writeFileSync(join(home, 'config.json'), JSON.stringify({ logCap: LOG_CAP_BYTES }));
  let d: TestDaemon = await startTestDaemon({ home });
  const everything: SeenProcess[] = [];
  t.after(async () => {
    await stopDaemon(d);
    killSeen(everything); // last resort: only processes carrying this test's tag
  });
  const figures = { rounds: 0, jobsLost: 0, followerBytes: 0, storedBytes: 0, trimmedJobs: 0, followerGaps: 0, restartMs: [] as number[], maxReconcileKillMs: 0 };

  for (let round = 1; round <= ROUNDS; round++) {
    const admin = await connect(t, d.endpoint, adminIdentity(d));
    const r: Round = { writers: [], started: [], stopping: [], procs: [], tag: randomUUID() };
    const env = { [TAG]: r.tag };

    // 1. Heavy writers, each with two grandchildren that outlive the main process's session.
    for (let i = 0; i < 3; i++) {
      const job = await admin.call('job.start', spec(['sh', '-c', '(sleep 300 &); setsid sleep 300 & exec seq 1 100000000'], { env, name: `writer-${round}-${i}` }));
      const received: Received = { pieces: [], end: 0, gaps: 0 };
      r.writers.push({ job, received });
      const sub = await admin.streamLogs(
        { id: job.id, follow: true },
        {
          onChunk: (_s, data) => {
            received.pieces.push({ pos: received.end, data: Buffer.from(data) });
            received.end += data.length;
          },
          // A follower the cap overtook is told how much it missed, and goes on from there.
          onGap: (droppedBytes) => {
            received.end += droppedBytes;
            received.gaps++;
          },
        },
      );
      sub.done.catch(() => undefined); // ends with the daemon's death
    }
    // 2. Jobs being stopped: they announce SIGTERM on stdout and keep a child that ignores it, so the
    // stop is in its grace period when the daemon dies; one more is stopped with no grace at all.
    for (let i = 0; i < 3; i++) {
      const job = await admin.call('job.start', spec(['sh', '-c', 'trap "echo got-term" TERM; (trap "" TERM; exec sleep 300) & echo ready; while :; do sleep 0.2; done'], { env }));
      r.stopping.push(job);
    }
    const announced = new Map<number, string>();
    for (const job of r.stopping) {
      let text = '';
      const sub = await admin.streamLogs({ id: job.id, follow: true }, { onChunk: (_s, data) => void (text += data.toString(), announced.set(job.id, text)) });
      sub.done.catch(() => undefined);
    }
    await pollUntil('the stopping jobs to be ready', () => r.stopping.every((j) => announced.get(j.id)?.includes('ready')), 10_000);
    const stops = r.stopping.map((j, i) => admin.call('job.stop', { id: j.id, graceMs: i === 0 ? 0 : 60_000 }).catch((e: Error) => e));
    await pollUntil('SIGTERM to reach the graceful jobs', () => r.stopping.slice(1).every((j) => announced.get(j.id)?.includes('got-term')), 10_000);

    // Writers must be mid-flood: every follower has a good part of a megabyte.
    await pollUntil('every follower to receive output', () => r.writers.every((w) => w.received.end > 256 * 1024), 20_000);

    // 3. A storm of starts, the daemon killed while they are in flight.
    const storm = Array.from({ length: 16 }, (_, i) =>
      admin.call('job.start', spec(['sh', '-c', 'sleep 300 & exec sleep 300'], { env, name: `storm-${round}-${i}` })).then(
        (job) => void r.started.push(job),
        () => undefined,
      ),
    );
    // Let a few starts land and others be mid-way: wait for the first answer, then kill.
    await pollUntil('a first start of the storm to be answered', () => r.started.length > 0 || round % 2 === 0, 10_000, 1);

    r.procs = processesTagged(TAG, r.tag);
    everything.push(...r.procs);
    assert.ok(r.procs.length >= r.writers.length * 3, `grandchildren are visible before the kill (${r.procs.length} processes)`);
    await killDaemon(d);
    await Promise.all([...storm, ...stops]);
    // The kill happened now: the followers' bytes are final. Grab the processes that appeared since.
    const late = processesTagged(TAG, r.tag).filter((p) => !r.procs.some((q) => q.pid === p.pid));
    r.procs.push(...late);
    everything.push(...late);

    // The database is sound while nothing holds it open.
    assert.equal(integrityCheck(home), 'ok', `round ${round}: integrity after the kill`);

    const t0 = Date.now();
    d = await startTestDaemon({ home });
    figures.restartMs.push(Date.now() - t0);
    assert.equal(integrityCheck(home), 'ok', `round ${round}: integrity after the restart (read-only, beside the daemon)`);

    // Nothing of any job survives the restart, and no job cgroup is left.
    const killT0 = Date.now();
    await pollUntil(`round ${round}: every job process to be gone (${r.procs.length} seen)`, () => r.procs.every((p) => !stillRuns(p)), 10_000, 20);
    figures.maxReconcileKillMs = Math.max(figures.maxReconcileKillMs, Date.now() - killT0);
    assert.deepEqual(processesTagged(TAG, r.tag), [], `round ${round}: no process carries the round's tag`);
    await pollUntil(`round ${round}: no job cgroup left`, () => jobCgroups(home).length === 0, 10_000, 20);

    // Every job is final; those that ran at the kill are lost.
    const c2 = await connect(t, d.endpoint, adminIdentity(d));
    const jobs = await allJobs(c2);
    const stuck = jobs.filter((j) => j.state === 'running');
    assert.deepEqual(stuck.map((j) => j.id), [], `round ${round}: no job stays running after a restart`);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const j of [...r.writers.map((w) => w.job), ...r.started, ...r.stopping.slice(1)]) {
      const now = byId.get(j.id);
      assert.ok(now, `job ${j.id} is still known`);
      assert.equal(now.state, 'lost', `job ${j.id} (${j.name ?? j.argv.join(' ')}) ran at the kill: ${now.state} ${now.reason ?? ''}`);
    }
    figures.jobsLost = jobs.filter((j) => j.state === 'lost').length;

    // Output: what the follower received and what is stored are both what seq wrote, at their
    // positions; the stored output ends no earlier than the follower's; trimmed bytes are counted.
    const db = openReadOnly(home);
    try {
      for (const w of r.writers) {
        const id = w.job.id;
        const stored = storedStdout(db, id);
        const first = db.prepare('SELECT pos FROM log_chunks WHERE job_id = ? ORDER BY seq LIMIT 1').get(id) as { pos: number } | undefined;
        const storedFrom = first?.pos ?? 0;
        const got = w.received;
        figures.followerBytes += got.pieces.reduce((n, p) => n + p.data.length, 0);
        figures.storedBytes += stored.length;
        figures.followerGaps += got.gaps;
        assert.ok(got.pieces.length > 0);
        assert.ok(storedFrom + stored.length >= got.end, `job ${id}: stored up to byte ${storedFrom + stored.length}, the follower had up to ${got.end}`);
        assert.equal(seqSlice(stored, storedFrom), true, `job ${id}: what is stored (from byte ${storedFrom}) is what the job wrote there`);
        for (const piece of got.pieces) {
          assert.equal(seqSlice(piece.data, piece.pos), true, `job ${id}: the ${piece.data.length} bytes the follower received at ${piece.pos} are what the job wrote there`);
          const overlapFrom = Math.max(piece.pos, storedFrom);
          const overlapTo = piece.pos + piece.data.length;
          if (overlapFrom < overlapTo) {
            const mine = piece.data.subarray(overlapFrom - piece.pos);
            assert.ok(stored.subarray(overlapFrom - storedFrom, overlapTo - storedFrom).equals(mine), `job ${id}: follower and store agree on bytes ${overlapFrom}..${overlapTo}`);
          }
        }
        const row = db.prepare('SELECT log_stored_bytes AS stored, log_dropped_bytes AS dropped FROM jobs WHERE id = ?').get(id) as { stored: number; dropped: number };
        assert.equal(row.stored, stored.length, `job ${id}: the row's accounting matches the stored chunks`);
        assert.ok(row.stored <= LOG_CAP_BYTES, `job ${id}: ${row.stored} bytes stored, the cap is ${LOG_CAP_BYTES}`);
        assert.equal(row.dropped, storedFrom, `job ${id}: exactly the bytes before the first stored chunk are counted as dropped`);
        if (storedFrom > 0) figures.trimmedJobs++;
      }
    } finally {
      db.close();
    }
    // The CLI reads the same bytes back and reports the loss honestly.
    const w0 = r.writers[0]!;
    const viaCli = await d.cli(['logs', String(w0.job.id)], { timeoutMs: 60_000 });
    const dbCopy = openReadOnly(home);
    try {
      assert.ok(viaCli.stdoutBytes.equals(storedStdout(dbCopy, w0.job.id)), 'jobctl logs prints exactly the stored bytes');
    } finally {
      dbCopy.close();
    }
    const status = await d.cli(['status', String(w0.job.id)]);
    assert.match(status.stdout, /status\s+lost \(daemon restarted\)/);
    assert.equal(jsonOf<JobInfo>(await d.cli(['status', String(w0.job.id), '--json'])).state, 'lost');
    c2.close();
    admin.close();
    figures.rounds = round;
  }

  // A clean stop after all that removes the instance's cgroups entirely.
  assert.equal(await stopDaemon(d), 0, 'a clean stop after the crash rounds');
  assert.deepEqual(instanceDirs(home), [], 'no cgroup directory of this instance remains after a clean stop');
  assert.equal(integrityCheck(home), 'ok');
  const restart = figures.restartMs;
  t.diagnostic(
    `rounds=${figures.rounds} jobsLost=${figures.jobsLost} trimmedJobs=${figures.trimmedJobs} followerGaps=${figures.followerGaps} followerBytes=${figures.followerBytes} storedBytes=${figures.storedBytes} ` +
      `restartMs(min/max)=${Math.min(...restart)}/${Math.max(...restart)} killsAfterRestartWithinMs=${figures.maxReconcileKillMs}`,
  );
});
