// Fan-out: 100 followers of one job that writes 50 MB/s. The job (job-writer.js) prints "ready", waits
// until every follower has shown that line, then writes for a fixed time at a fixed rate and records
// how long the writing really took. Figures: the job's slowdown (real / planned time; the same writer
// with `> file` is the limit), the share of the output that had reached the followers when the job
// ended, and when the last follower had all of it.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NqPeer, Pm2Peer, TspPeer, type JobRef, type Peer } from './peers.ts';
import { HERE, killTracked, median, now, progress, QUICK, runOk, sleep, spawnTracked, tempDir, until } from './lib.ts';
import { ratio, type Row } from './report.ts';

const FOLLOWERS = 100;
const RATE = 50 * 1000 * 1000;

interface Outcome {
  /** Real writing time / planned (Infinity: not done within the wait; see waitedS). */
  slowdown: number;
  /** How long the benchmark waited for the job to finish. */
  waitedS: number;
  /** Bytes delivered to all followers when the job ended / FOLLOWERS × bytes written. */
  deliveredAtEnd: number;
  /** Seconds after the job's end until every follower had every byte (null: not within the wait). */
  drainS: number | null;
  /** Share delivered when the benchmark stopped waiting. */
  deliveredFinal: number;
}

/** The writer command for a gate FIFO and done file. */
function writer(seconds: number, gate: string, done: string): string[] {
  return [process.execPath, join(HERE, 'job-writer.js'), String(RATE), String(seconds), gate, done];
}

/** Opens and closes the gate: the writer starts. */
async function release(gate: string): Promise<void> {
  const fd = await open(gate, 'w');
  await fd.close();
}

/** The writer alone with stdout to a file: the planned rate is reachable at all here. */
async function limitRun(seconds: number): Promise<number> {
  const dir = tempDir('cmp-fanout-limit-');
  const gate = join(dir, 'gate');
  const done = join(dir, 'done');
  await runOk('mkfifo', [gate]);
  const [file, ...args] = writer(seconds, gate, done) as [string, ...string[]];
  const out = await open(join(dir, 'out'), 'w');
  const child = spawnTracked(file, args, { stdio: ['ignore', out.fd, 'ignore'] });
  await release(gate);
  await new Promise<void>((r) => child.once('exit', () => r()));
  await out.close();
  rmSync(join(dir, 'out'), { force: true });
  return (JSON.parse(readFileSync(done, 'utf8')) as { ms: number }).ms / (seconds * 1000);
}

async function discard(p: Peer, ref: JobRef): Promise<void> {
  if (p instanceof TspPeer) rmSync(await p.outputFile(ref).catch(() => ''), { force: true });
  else if (p instanceof NqPeer) rmSync(ref.file as string, { force: true });
  else if (p instanceof Pm2Peer) {
    await p.kill(ref);
    rmSync(ref.file as string, { force: true });
  }
}

/** One fan-out run of a tool. */
async function fanout(p: Peer, seconds: number): Promise<Outcome> {
  const dir = tempDir(`cmp-fanout-${p.name}-`);
  const gate = join(dir, 'gate');
  const done = join(dir, 'done');
  await runOk('mkfifo', [gate]);
  const { ref } = await p.submit(writer(seconds, gate, done));
  const followers: Array<{ child: ChildProcess; bytes: number; ready: boolean }> = [];
  try {
    const f = p.follower(ref);
    for (let i = 0; i < FOLLOWERS; i++) {
      const child = spawnTracked(f.file, f.args, { env: f.env, stdio: ['ignore', 'pipe', 'ignore'] });
      const entry = { child, bytes: 0, ready: false };
      let head = '';
      child.stdout?.on('data', (d: Buffer) => {
        entry.bytes += d.length;
        if (!entry.ready) {
          head += d.toString('latin1');
          entry.ready = head.includes('ready\n');
        }
      });
      followers.push(entry);
    }
    await until(`${FOLLOWERS} ${p.name} followers to attach`, () => (followers.every((x) => x.ready) ? true : undefined), 300_000, 50);
    const base = followers.map((x) => x.bytes);
    await release(gate);
    const tStart = now();
    const waitMs = seconds * 1000 * 10 + 30_000;
    const finished = await until(`the ${p.name} fan-out job to finish`, () => (existsSync(done) ? true : undefined), waitMs, 5).catch(() => false);
    if (!finished) {
      await p.kill(ref);
      return { slowdown: Number.POSITIVE_INFINITY, waitedS: (now() - tStart) / 1000, deliveredAtEnd: Number.NaN, drainS: null, deliveredFinal: Number.NaN };
    }
    const tEnd = now();
    const result = JSON.parse(readFileSync(done, 'utf8')) as { ms: number; bytes: number };
    const got = (): number => followers.reduce((s, x, i) => s + Math.min(result.bytes, x.bytes - (base[i] ?? 0)), 0);
    const deliveredAtEnd = got() / (FOLLOWERS * result.bytes);
    let drainS: number | null = null;
    const drainWaitMs = Math.max(30_000, seconds * 6000);
    while (now() - tEnd < drainWaitMs) {
      if (got() >= FOLLOWERS * result.bytes) {
        drainS = (now() - tEnd) / 1000;
        break;
      }
      await sleep(20);
    }
    return { slowdown: result.ms / (seconds * 1000), waitedS: (tEnd - tStart) / 1000, deliveredAtEnd, drainS, deliveredFinal: got() / (FOLLOWERS * result.bytes) };
  } finally {
    await Promise.all(followers.map((x) => killTracked(x.child)));
    await p.wait(ref).catch(() => undefined);
    await discard(p, ref);
  }
}

/** 100 followers × 50 MB/s, every tool, median over runs. */
export async function fanOut(peers: Peer[]): Promise<Row[]> {
  const seconds = QUICK ? 4 : 10;
  const runs = QUICK ? 1 : 2;
  progress(`fan-out: ${FOLLOWERS} followers of a job writing ${RATE / 1e6} MB/s for ${seconds} s, ${runs} run(s) × ${peers.map((p) => p.name).join(', ')}`);
  const limit: number[] = [];
  const out = new Map<string, Outcome[]>(peers.map((p) => [p.name, []]));
  for (let r = 0; r < runs; r++) {
    limit.push(await limitRun(seconds));
    for (const p of peers) {
      try {
        const o = await fanout(p, seconds);
        out.get(p.name)?.push(o);
        progress(`  ${p.name}: slowdown ${Number.isFinite(o.slowdown) ? `${o.slowdown.toFixed(2)}×` : `> ${(o.waitedS / seconds).toFixed(0)}× (not done after ${o.waitedS.toFixed(0)} s)`}, delivered at end ${(o.deliveredAtEnd * 100).toFixed(1)} %, all delivered after ${o.drainS === null ? `— (${(o.deliveredFinal * 100).toFixed(1)} % when the wait ended)` : `${o.drainS.toFixed(1)} s`}`);
      } catch (err) {
        progress(`  ${p.name}: ${(err as Error).message}`);
      }
    }
  }
  const med = (name: string, pick: (o: Outcome) => number): number | string => {
    const s = out.get(name);
    return s && s.length ? median(s.map(pick)) : 'failed';
  };
  const values = (pick: (o: Outcome) => number): Record<string, number | string> => Object.fromEntries(peers.map((p) => [p.name, med(p.name, pick)]));
  // A job not done within the wait has no ratio: its cell says how long it was waited for.
  const slow = Object.fromEntries(
    peers.map((p) => {
      const v = med(p.name, (o) => o.slowdown);
      const waited = Math.max(...(out.get(p.name) ?? []).map((o) => o.waitedS));
      return [p.name, typeof v === 'number' && !Number.isFinite(v) ? `> ${Math.floor(waited / seconds)}× (not done in ${Math.round(waited)} s)` : v];
    }),
  );
  const limitSlow = median(limit);
  const atEnd = Object.fromEntries(Object.entries(values((o) => o.deliveredAtEnd * 100)).map(([k, v]) => [k, typeof v === 'number' && Number.isNaN(v) ? 'job not done' : v]));
  const drain = Object.fromEntries(
    peers.map((p) => {
      const os = out.get(p.name) ?? [];
      if (os.length === 0) return [p.name, 'failed'];
      if (os.some((o) => !Number.isFinite(o.slowdown))) return [p.name, 'job not done'];
      const v = median(os.map((o) => o.drainS ?? Number.POSITIVE_INFINITY));
      return [p.name, Number.isFinite(v) ? v : `not within ${Math.max(30, seconds * 6)} s (${(median(os.map((o) => o.deliveredFinal)) * 100).toFixed(1)} % by then)`];
    }),
  );
  const js = typeof slow.jobctl === 'number' ? slow.jobctl : undefined;
  return [
    {
      scenario: 'fan-out',
      figure: `job slowdown: real / planned write time, ${FOLLOWERS} followers × ${RATE / 1e6} MB/s for ${seconds} s`,
      unit: '×',
      values: { ...slow, limit: limitSlow },
      limitName: 'writer > file',
      ratio: `jobctl/limit ${ratio(js, limitSlow)}`,
      note: `${runs} run(s). The planned aggregate is ${(FOLLOWERS * RATE) / 1e9} GB/s to followers, with the ${FOLLOWERS} follower processes on the same 2 cores: no tool delivers that live. What matters is that the job is not slowed and that followers catch up. jobctl's followers are ${FOLLOWERS} Node.js processes each decrypting its own TLS stream (the daemon encrypts ${FOLLOWERS} times); tsp -t and fq read the output file.`,
    },
    {
      scenario: 'fan-out',
      figure: 'output delivered to the followers when the job ended',
      unit: '%',
      values: atEnd,
    },
    {
      scenario: 'fan-out',
      figure: 'after the job ended, until every follower had everything',
      unit: 's',
      values: drain,
    },
  ];
}
