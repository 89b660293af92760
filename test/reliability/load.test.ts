// Load: 1,000 authenticated connections held at once (and a crowd of unauthenticated sockets), 200 jobs
// running at once, and a soak of jobs with output. Held: every connection and job is served, no
// descriptor leak (the daemon's /proc/PID/fd count returns to its idle figure), no memory leak (RSS
// growth under 10 % after warm-up), event-loop lag p99 under 50 ms (inferred from the round trip of
// session.info from a separate client, every 20 ms), and every job's output stored completely.
// SHORT: a 60 s soak; JOBCTL_LONG=1: 10 minutes (JOBCTL_SOAK_SECONDS overrides either).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import type Database from 'better-sqlite3';
import { Connection } from '../../src/client/connection.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { pollUntil } from '../support/poll.ts';
import { join } from 'node:path';
import {
  adminIdentity,
  connect,
  daemon,
  fdCount,
  jobCgroups,
  openFileLimit,
  openReadOnly,
  percentile,
  raiseOpenFileLimit,
  rssBytes,
  scale,
  spec,
  NOISY_HOST_P99_MS,
  noiseFloor,
  prioritize,
  startLagProbe,
  tempDir,
} from './helpers.ts';

const CONNECTIONS = 1000;
const JOBS_AT_ONCE = 200;
const SOAK_SECONDS = Number(process.env.JOBCTL_SOAK_SECONDS) || scale(60, 600);
/** Jobs started per second in the soak (JOBCTL_SOAK_RATE; 0: as fast as 16 at a time allow). */
const SOAK_RATE = process.env.JOBCTL_SOAK_RATE !== undefined ? Number(process.env.JOBCTL_SOAK_RATE) : 5;
const SOAK_CONCURRENCY = 16;

/** The local admin identity directory of a daemon's home (for the probe process). */
const adminDir = (home: string) => join(home, 'pki', 'admin');

/** Asserts a lag bound unless the host was too noisy to judge (then says so); returns the summary. */
async function judgeLag(t: TestContext, what: string, lag: number[], noise: number[]): Promise<void> {
  const p99 = percentile(lag, 99);
  const noiseP99 = percentile(noise, 99);
  if (noiseP99 > NOISY_HOST_P99_MS) {
    t.diagnostic(`NOT JUDGED: ${what} p99 ${p99.toFixed(1)} ms, but an idle daemon already showed p99 ${noiseP99.toFixed(1)} ms on this host (busy)`);
    return;
  }
  assert.ok(p99 < 50, `event-loop lag p99 ${p99.toFixed(1)} ms ${what} (idle p99 ${noiseP99.toFixed(1)} ms)`);
}

/** fd → target of a process's open descriptors. */
function fdList(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out[fd] = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** What `seq 1 n` writes. */
function seqText(n: number): Buffer {
  let s = '';
  for (let i = 1; i <= n; i++) s += `${i}\n`;
  return Buffer.from(s);
}

function stored(db: Database.Database, jobId: number, stream: 1 | 2): Buffer {
  const rows = db.prepare('SELECT data FROM log_chunks WHERE job_id = ? AND stream = ? ORDER BY seq').all(jobId, stream) as Array<{ data: Buffer }>;
  return Buffer.concat(rows.map((r) => r.data));
}

test(`${CONNECTIONS} concurrent authenticated connections, beside a crowd of idle unauthenticated sockets`, { timeout: 180_000 }, async (t) => {
  const d = await daemon(t);
  const pems = adminIdentity(d);
  const need = CONNECTIONS + 600;
  const ours = openFileLimit(process.pid);
  assert.ok(ours >= need, `this test process may open ${ours} files; raise it to ${need} (ulimit -n)`);
  const theirs = raiseOpenFileLimit(d.pid, need);
  assert.ok(theirs >= need, `the daemon may open ${theirs} files; it needs ${need} (prlimit --nofile, or LimitNOFILE= under systemd)`);
  prioritize(d.pid);
  const noise = await noiseFloor(d.endpoint, adminDir(d.home));
  const fdIdle = fdCount(d.pid);
  const rssIdle = rssBytes(d.pid) ?? 0;
  const openingProbe = await startLagProbe(d.endpoint, adminDir(d.home));

  // 300 sockets that connect and never say a word (no TLS handshake): they must not crowd anyone out.
  const idle: Socket[] = [];
  for (let i = 0; i < 300; i++) {
    const s = netConnect(Number(new URL(d.endpoint.replace('wss:', 'https:')).port), '127.0.0.1');
    s.on('error', () => undefined);
    idle.push(s);
  }
  t.after(() => idle.forEach((s) => s.destroy()));

  const t0 = Date.now();
  const conns: Connection[] = [];
  t.after(() => conns.forEach((c) => c.close()));
  // Opened in waves of 100 (each a full TLS 1.3 handshake with client certificate).
  for (let i = 0; i < CONNECTIONS; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(100, CONNECTIONS - i) }, () => Connection.open(d.endpoint, pems, 30_000)))));
  }
  const openMs = Date.now() - t0;
  const opening = await openingProbe.stop();
  // Held: all 1,000 open, each asking once, while a probe measures the round trip.
  const probe = await startLagProbe(d.endpoint, adminDir(d.home));
  const fdHeld = fdCount(d.pid);
  assert.ok(fdHeld >= fdIdle + CONNECTIONS, `the daemon holds a descriptor per connection (${fdHeld} open, idle ${fdIdle})`);
  // Every held connection is served, all at once.
  const t1 = Date.now();
  const infos = await Promise.all(conns.map((c) => c.call('session.info', {})));
  const allCallMs = Date.now() - t1;
  assert.equal(infos.length, CONNECTIONS);
  assert.ok(infos.every((i) => i.role === 'admin'));
  const rssHeld = rssBytes(d.pid) ?? 0;
  // A second round, spread out: one call from every connection over about two seconds.
  for (let i = 0; i < CONNECTIONS; i += 50) {
    await Promise.all(conns.slice(i, i + 50).map((c) => c.call('session.info', {})));
    await new Promise((r) => setTimeout(r, 100));
  }
  const lag = await probe.stop();

  for (const c of conns) c.close();
  for (const s of idle) s.destroy();
  await pollUntil(`the daemon's descriptors to return to ${fdIdle}`, () => fdCount(d.pid) <= fdIdle, 20_000, 50);
  t.diagnostic(
    `connections=${CONNECTIONS} openMs=${openMs} allAnsweredMs=${allCallMs} fdIdle=${fdIdle} fdHeld=${fdHeld} fdAfter=${fdCount(d.pid)} ` +
      `rssIdleMiB=${(rssIdle / 2 ** 20).toFixed(0)} rssHeldMiB=${(rssHeld / 2 ** 20).toFixed(0)} daemonNofile=${theirs} ` +
      `idleLagP99=${percentile(noise, 99).toFixed(1)} lagWhileOpeningP50/P99/maxMs=${percentile(opening, 50).toFixed(1)}/${percentile(opening, 99).toFixed(1)}/${Math.max(...opening).toFixed(1)} ` +
      `lagWhileHeldP50/P99/maxMs=${percentile(lag, 50).toFixed(1)}/${percentile(lag, 99).toFixed(1)}/${Math.max(...lag).toFixed(1)}`,
  );
  await judgeLag(t, `with ${CONNECTIONS} connections held`, lag, noise);
});

test(`${JOBS_AT_ONCE} jobs running at once`, { timeout: 180_000 }, async (t) => {
  const d = await daemon(t);
  const c = await connect(t, d.endpoint, adminIdentity(d));
  // Warm-up: one job started and stopped gracefully, so that lazily made, kept resources (libuv's one
  // inotify descriptor, used to watch cgroup.events during a grace period) exist before the count.
  prioritize(d.pid);
  const noise = await noiseFloor(d.endpoint, adminDir(d.home));
  const warm = await c.call('job.start', spec(['sleep', '600']));
  await c.call('job.stop', { id: warm.id, graceMs: 1000 });
  const fdIdle = fdCount(d.pid);
  const stormProbe = await startLagProbe(d.endpoint, adminDir(d.home));
  const t0 = Date.now();
  const jobs: JobInfo[] = [];
  t.after(async () => {
    for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((j) => c.call('job.stop', { id: j.id, graceMs: 0 }).catch(() => undefined)));
  });
  for (let i = 0; i < JOBS_AT_ONCE; i += 20) {
    jobs.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => c.call('job.start', spec(['sh', '-c', `echo started ${i + k}; exec sleep 600`]))))));
  }
  const startMs = Date.now() - t0;
  const running = await c.call('job.list', { all: true, states: ['running'], limit: 10_000 });
  assert.equal(running.length, JOBS_AT_ONCE, 'all of them run at once');
  assert.ok(jobs.every((j) => j.state === 'running'), jobs.find((j) => j.state !== 'running')?.reason ?? '');
  const ids = new Set(jobs.map((j) => j.id));
  await pollUntil('every job to have written its first line', async () => (await c.call('job.list', { all: true, limit: 10_000 })).filter((j) => ids.has(j.id)).every((j) => j.log.storedBytes > 0), 20_000, 100);
  const storm = await stormProbe.stop();
  const fdBusy = fdCount(d.pid);
  const rss = rssBytes(d.pid) ?? 0;
  // Steady state with 200 running, watched the way `jobctl top` does: events with usage every second.
  const watcher = await connect(t, d.endpoint, adminIdentity(d));
  let usageEvents = 0;
  watcher.on('job.usage', () => void usageEvents++);
  await watcher.call('events.subscribe', { all: true, usage: true });
  const probe = await startLagProbe(d.endpoint, adminDir(d.home));
  await pollUntil('three rounds of usage events', () => usageEvents >= 3 * JOBS_AT_ONCE, 15_000, 50);
  const lag = await probe.stop();
  const stopProbe = await startLagProbe(d.endpoint, adminDir(d.home));
  const t1 = Date.now();
  // In waves of 50: a connection may have 64 requests in flight (more are answered BUSY).
  const stopped: JobInfo[] = [];
  for (let i = 0; i < jobs.length; i += 50) stopped.push(...(await Promise.all(jobs.slice(i, i + 50).map((j) => c.call('job.stop', { id: j.id, graceMs: 1000 })))));
  const stopMs = Date.now() - t1;
  assert.ok(stopped.every((j) => j.state === 'stopped' && j.signal === 'SIGTERM'), 'each stopped by SIGTERM within its grace');
  const stopping = await stopProbe.stop();
  watcher.close();
    await pollUntil(`the daemon's descriptors to return to ${fdIdle}`, () => fdCount(d.pid) <= fdIdle, 10_000, 50).catch((err: Error) => {
    throw new Error(`${err.message}; now open: ${JSON.stringify(fdList(d.pid))}`);
  });
  await pollUntil('no job cgroup left', () => jobCgroups(d.home).length === 0, 10_000, 50);
  const lagP99 = percentile(lag, 99);
  const fmt = (xs: number[]) => `${percentile(xs, 50).toFixed(1)}/${percentile(xs, 99).toFixed(1)}/${Math.max(...xs).toFixed(1)}`;
  t.diagnostic(
    `jobs=${JOBS_AT_ONCE} startMs=${startMs} stopAllMs=${stopMs} fdIdle=${fdIdle} fdWith200=${fdBusy} fdAfter=${fdCount(d.pid)} rssMiB=${(rss / 2 ** 20).toFixed(0)} ` +
      `lagP50/P99/maxMs idle=${fmt(noise)} starting=${fmt(storm)} running+usage=${fmt(lag)} stopping=${fmt(stopping)}`,
  );
  await judgeLag(t, `with ${JOBS_AT_ONCE} jobs running and a usage watcher`, lag, noise);
});

test(`soak: ${SOAK_SECONDS} s of jobs with output — no leak, low lag, every byte stored`, { timeout: (SOAK_SECONDS + 180) * 1000 }, async (t) => {
  // The daemon carries a memory reporter (mem-report.fixture.ts): a full GC, then its figures, on SIGUSR2.
  const memFile = join(tempDir(t), 'mem.jsonl');
  const reporter = new URL('./mem-report.fixture.js', import.meta.url).pathname;
  const d = await daemon(t, { env: { NODE_OPTIONS: `--expose-gc --import ${reporter}`, JOBCTL_MEM_REPORT: memFile } });
  const pems = adminIdentity(d);
  prioritize(d.pid);
  const noise = await noiseFloor(d.endpoint, adminDir(d.home));
  const c = await connect(t, d.endpoint, pems);
  const follower = await connect(t, d.endpoint, pems);

  type Made = { id: number; out: number; err: number };
  const made: Made[] = [];
  const followed = new Map<number, Buffer[]>();
  const rss: Array<{ at: number; bytes: number }> = [];
  const start = Date.now();
  const end = start + SOAK_SECONDS * 1000;
  const rssTimer = setInterval(() => {
    rss.push({ at: Date.now() - start, bytes: rssBytes(d.pid) ?? 0 });
    if (rss.length % 10 === 0) d.process.kill('SIGUSR2'); // every 5 s: figures after a full GC
  }, 500);
  t.after(() => clearInterval(rssTimer));

  let i = 0;
  /**
   * One job: `seq 1 out` on stdout and `seq 1 err` on stderr; every tenth a big one; every fifth
   * followed live. A `peak` job is big and followed.
   */
  const one = async (peak = false) => {
    const n = i++;
    const out = peak || n % 10 === 0 ? 200_000 + (n % 7) * 10_000 : 100 + ((n * 7919) % 5000);
    const err = (n * 104_729) % 300;
    const job = await c.call('job.start', spec(['sh', '-c', `seq 1 ${out}; seq 1 ${err} >&2`]));
    if (peak || n % 5 === 0) {
      const parts: Buffer[] = [];
      followed.set(job.id, parts);
      const s = await follower.streamLogs({ id: job.id, follow: true, streams: ['stdout'] }, { onChunk: (_s, data) => void parts.push(Buffer.from(data)) });
      await s.done;
    }
    const final = await c.call('job.wait', { id: job.id });
    assert.equal(final.state, 'exited', `job ${job.id}: ${final.reason ?? ''}`);
    made.push({ id: job.id, out, err });
  };
  // Warm up at the soak's peak — as many big, followed jobs at once as the soak ever runs — then take
  // the idle descriptor figure with the daemon's lazy resources in place. Why the peak: RSS after a
  // full GC still holds high-water marks that are not leaks (glibc keeps the main arena at its peak;
  // V8 sizes its young generation up under load and keeps it), and they are reached when enough big
  // jobs first overlap. With 8 ordinary jobs as the warm-up, that happened inside the measured
  // window: Node 24.21 SHORT runs grew 7.5–8.8 % (Node 20.20: up to 4.7 %), and a 240 s run showed
  // it level off after ~90 s (+0.8 % from 80–108 s to the end) — a plateau, not a slope. With this
  // warm-up: +0.3–1.5 % (Node 24, 3 runs) and +0.4–1.4 % (Node 20, 2 runs); docs/RELIABILITY.md.
  await Promise.all(Array.from({ length: SOAK_CONCURRENCY }, () => one(true)));
  await Promise.all(Array.from({ length: 8 }, () => one()));
  const fdIdle = fdCount(d.pid);
  const probe = await startLagProbe(d.endpoint, adminDir(d.home));
  // A steady rate (SOAK_RATE a second, at most SOAK_CONCURRENCY at a time) until the end.
  const active = new Set<Promise<void>>();
  const failures: unknown[] = [];
  const paced = Date.now();
  for (let k = 0; Date.now() < end && failures.length === 0; k++) {
    if (active.size >= SOAK_CONCURRENCY) await Promise.race(active);
    const p = one().catch((err: unknown) => void failures.push(err));
    active.add(p);
    void p.finally(() => active.delete(p));
    if (SOAK_RATE > 0) {
      const due = paced + ((k + 1) * 1000) / SOAK_RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
  }
  await Promise.all(active);
  assert.deepEqual(failures, []);
  const lag = await probe.stop();
  clearInterval(rssTimer);
  await pollUntil(`the daemon's descriptors to return to ${fdIdle}`, () => fdCount(d.pid) <= fdIdle, 10_000, 50);

  // Every job's output, complete and exact (straight from the database, read-only), and every follower's copy.
  const db = openReadOnly(d.home);
  const wrong: string[] = [];
  let bytes = 0;
  const cache = new Map<number, Buffer>();
  const expected = (n: number) => cache.get(n) ?? (cache.set(n, seqText(n)), cache.get(n)!);
  try {
    for (const m of made) {
      const out = stored(db, m.id, 1);
      const err = stored(db, m.id, 2);
      bytes += out.length + err.length;
      if (!out.equals(expected(m.out))) wrong.push(`job ${m.id}: stdout ${out.length} bytes, expected ${expected(m.out).length}`);
      if (!err.equals(expected(m.err))) wrong.push(`job ${m.id}: stderr ${err.length} bytes, expected ${expected(m.err).length}`);
      const f = followed.get(m.id);
      if (f && !Buffer.concat(f).equals(expected(m.out))) wrong.push(`job ${m.id}: the live follower got ${Buffer.concat(f).length} bytes`);
    }
  } finally {
    db.close();
  }
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} jobs with incomplete output`);

  // Memory, after a full GC each time: after a warm-up third, the median of the last tenth of the
  // samples against the median of the samples just after the warm-up. (Plain RSS, sampled without a GC,
  // is reported too: it climbs while V8 lets its heap grow lazily, which is not a leak.)
  const median = (xs: number[]) => percentile(xs, 50);
  type MemSample = { at: number; rss: number; heapUsed: number; RssAnon?: number; spaces: Record<string, number> };
  const mem = readFileSync(memFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MemSample);
  const phase = (m: { at: number }) => (m.at - start) / (SOAK_SECONDS * 1000);
  const warmMem = mem.filter((m) => phase(m) >= 0.33 && phase(m) < 0.45);
  const lastMem = mem.slice(-Math.max(3, Math.floor(mem.length / 10)));
  const growth = median(lastMem.map((m) => m.rss)) / median(warmMem.map((m) => m.rss)) - 1;
  const heapGrowth = median(lastMem.map((m) => m.heapUsed)) / median(warmMem.map((m) => m.heapUsed)) - 1;
  const warm = rss.filter((s) => s.at >= SOAK_SECONDS * 330 && s.at < SOAK_SECONDS * 450).map((s) => s.bytes);
  const last = rss.slice(-Math.max(3, Math.floor(rss.length / 10))).map((s) => s.bytes);
  const rawGrowth = median(last) / median(warm) - 1;
  // Where RSS went, should it grow: anonymous memory (heaps), and of it V8's young generation.
  const mib = (xs: number[]) => (median(xs) / 2 ** 20).toFixed(1);
  const young = (m: MemSample) => (m.spaces.new_space ?? 0) + (m.spaces.new_large_object_space ?? 0);
  const lagP99 = percentile(lag, 99);
  t.diagnostic(
    `seconds=${SOAK_SECONDS} jobs=${made.length} followed=${followed.size} bytes=${bytes} fdIdle=${fdIdle} fdAfter=${fdCount(d.pid)} ` +
      `afterGc: rssWarmMiB=${(median(warmMem.map((m) => m.rss)) / 2 ** 20).toFixed(1)} rssEndMiB=${(median(lastMem.map((m) => m.rss)) / 2 ** 20).toFixed(1)} growth=${(growth * 100).toFixed(1)}% ` +
      `heapUsedWarmMiB=${(median(warmMem.map((m) => m.heapUsed)) / 2 ** 20).toFixed(1)} heapGrowth=${(heapGrowth * 100).toFixed(1)}% ` +
      `anonMiB=${mib(warmMem.map((m) => m.RssAnon ?? 0))}→${mib(lastMem.map((m) => m.RssAnon ?? 0))} youngGenMiB=${mib(warmMem.map(young))}→${mib(lastMem.map(young))} ` +
      `withoutGc: rssWarmMiB=${(median(warm) / 2 ** 20).toFixed(1)} rssEndMiB=${(median(last) / 2 ** 20).toFixed(1)} rssMaxMiB=${(Math.max(...rss.map((s) => s.bytes)) / 2 ** 20).toFixed(1)} growth=${(rawGrowth * 100).toFixed(1)}% ` +
      `idleLagP99=${percentile(noise, 99).toFixed(1)} lagSamples=${lag.length} lagP50/P99/maxMs=${percentile(lag, 50).toFixed(1)}/${lagP99.toFixed(1)}/${Math.max(...lag).toFixed(1)}`,
  );
  t.diagnostic(`rss MiB every 5 s: ${rss.filter((_, k) => k % 10 === 0).map((x) => (x.bytes / 2 ** 20).toFixed(0)).join(' ')}`);
  assert.ok(made.length >= 100, `a few hundred jobs ran (${made.length})`);
  assert.ok(growth < 0.1, `RSS (after a full GC) grew ${(growth * 100).toFixed(1)} % after warm-up`);
  assert.ok(heapGrowth < 0.1, `the live JS heap grew ${(heapGrowth * 100).toFixed(1)} % after warm-up`);
  await judgeLag(t, `during the soak (${SOAK_RATE} jobs/s)`, lag, noise);
});
