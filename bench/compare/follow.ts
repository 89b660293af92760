// Follow latency: the job is `cat FIFO`; the benchmark writes a marker line into the FIFO and times
// until the tool's follower process (`jobctl logs -f`, `tsp -t`, `fq`, `pm2 logs`) prints it. Measured
// idle, and again while another job of the same tool floods its output (`yes`).
import { open, type FileHandle } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NqPeer, Pm2Peer, TspPeer, type JobRef, type Peer } from './peers.ts';
import { killTracked, now, percentile, progress, QUICK, runOk, sleep, spawnTracked, tempDir } from './lib.ts';
import { ratio, type Row } from './report.ts';

/** A probe that got no answer within this long counts as this long. */
const PROBE_TIMEOUT_MS = 3000;
/** The flood job ends by itself after this long, and probing under flood stops after FLOOD_PROBING_S. */
const FLOOD_S = 25;
const FLOOD_PROBING_S = 15;

/** A follower process whose output is searched for one marker at a time. */
class Watcher {
  private tail = '';
  private want: { marker: string; resolve: (t: number) => void } | null = null;
  readonly child: ChildProcess;
  received = 0;

  constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => {
      const t = now();
      this.received += d.length;
      // Only the end of the output can hold a new marker: keep a short tail across chunks.
      this.tail = (this.tail + d.toString('latin1')).slice(-4096);
      if (this.want && this.tail.includes(this.want.marker)) {
        const w = this.want;
        this.want = null;
        this.tail = '';
        w.resolve(t);
      }
    });
  }

  /** Resolves with the time the marker arrived, or null after timeoutMs. */
  expect(marker: string, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.want = null;
        resolve(null);
      }, timeoutMs);
      this.want = {
        marker,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      };
    });
  }
}

/** Removes a finished job's stored output where the tool keeps it in a file. */
async function discard(p: Peer, ref: JobRef): Promise<void> {
  if (p instanceof TspPeer) rmSync(await p.outputFile(ref).catch(() => ''), { force: true });
  else if (p instanceof NqPeer) rmSync(ref.file as string, { force: true });
  else if (p instanceof Pm2Peer) {
    await p.kill(ref);
    rmSync(ref.file as string, { force: true });
  }
}

interface Samples {
  idle: number[];
  flood: number[];
  timeouts: number;
}

/** Latency samples of one tool. */
async function measure(p: Peer, samples: number): Promise<Samples> {
  const dir = tempDir(`cmp-follow-${p.name}-`);
  const fifo = join(dir, 'fifo');
  await runOk('mkfifo', [fifo]);
  const { ref } = await p.submit(['/bin/cat', fifo]);
  // Opening for writing completes when the job's cat opens the FIFO for reading.
  const fd: FileHandle = await open(fifo, 'w');
  const f = p.follower(ref);
  const watcher = new Watcher(spawnTracked(f.file, f.args, { env: f.env, stdio: ['ignore', 'pipe', 'ignore'] }));
  let n = 0;
  let timeouts = 0;
  const probe = async (timeoutMs: number): Promise<number | null> => {
    const marker = `<<${p.name}:${++n}>>`;
    const answer = watcher.expect(marker, timeoutMs);
    const t0 = now();
    await fd.write(`${marker}\n`);
    const t1 = await answer;
    return t1 === null ? null : t1 - t0;
  };
  const series = async (count: number, maxS = Number.POSITIVE_INFINITY): Promise<number[]> => {
    const out: number[] = [];
    const t0 = now();
    for (let i = 0; i < count && now() - t0 < maxS * 1000; i++) {
      const ms = await probe(PROBE_TIMEOUT_MS);
      if (ms === null) timeouts++;
      out.push(ms ?? PROBE_TIMEOUT_MS);
      await sleep(5 + Math.random() * 20);
    }
    return out;
  };
  let flood: JobRef | null = null;
  try {
    // Attached: the first marker arrives (a follower may need a moment to start and connect).
    const deadline = Date.now() + 60_000;
    while ((await probe(1000)) === null) if (Date.now() > deadline) throw new Error(`${p.name}: the follower never printed a marker`);
    const idle = await series(samples);
    flood = (await p.submit(['/usr/bin/timeout', String(FLOOD_S), '/usr/bin/yes', 'flood flood flood flood flood flood flood flood flood flood'], { queue: 'flood' })).ref;
    await sleep(1000);
    const flooded = await series(samples, FLOOD_PROBING_S);
    return { idle, flood: flooded, timeouts };
  } finally {
    if (flood) {
      await p.kill(flood);
      await p.wait(flood).catch(() => undefined);
      await discard(p, flood);
    }
    await fd.close();
    await p.wait(ref).catch(() => undefined);
    await killTracked(watcher.child);
    await discard(p, ref);
  }
}

/** p50/p99 follow latency, idle and under flood, for every tool. */
export async function followLatency(peers: Peer[]): Promise<Row[]> {
  const samples = QUICK ? 60 : 200;
  progress(`follow latency: ${samples} probes idle + ${samples} under flood × ${peers.map((p) => p.name).join(', ')}`);
  const results = new Map<string, Samples>();
  for (const p of peers) {
    try {
      results.set(p.name, await measure(p, samples));
    } catch (err) {
      progress(`  ${p.name}: ${(err as Error).message}`);
    }
    progress(`  ${p.name} done`);
  }
  const value = (name: string, which: 'idle' | 'flood', pct: number): number | string => {
    const s = results.get(name);
    return s ? percentile(s[which], pct) : 'failed';
  };
  const row = (which: 'idle' | 'flood', pct: number, limit: number): Row => {
    const values = Object.fromEntries(peers.map((p) => [p.name, value(p.name, which, pct)]));
    const j = values.jobctl;
    const others = peers.filter((p) => p.name !== 'jobctl');
    return {
      scenario: 'follow latency',
      figure: `write → follower prints it, p${pct}, ${which === 'idle' ? 'idle' : 'another job floods (yes)'}`,
      unit: 'ms',
      values,
      ratio: others.map((p) => `jobctl/${p.name} ${ratio(typeof j === 'number' ? j : undefined, typeof values[p.name] === 'number' ? (values[p.name] as number) : undefined)}`).join('; '),
      ...(pct === 99 ? { target: `< ${limit} ms`, pass: typeof j === 'number' && j < limit } : {}),
      ...(pct === 99 && which === 'idle'
        ? { note: `${samples} probes per case (under flood: as many as fit in ${FLOOD_PROBING_S} s; the flood job runs at most ${FLOOD_S} s); probes unanswered within ${PROBE_TIMEOUT_MS / 1000} s count as ${PROBE_TIMEOUT_MS / 1000} s (${peers.map((p) => `${p.name} ${results.get(p.name)?.timeouts ?? '-'}`).join(', ')}). tsp -t and fq follow a file (inotify or polling), pm2 logs receives every process's output from pm2's bus and filters it in the client.` }
        : {}),
    };
  };
  return [row('idle', 50, 20), row('idle', 99, 20), row('flood', 50, 100), row('flood', 99, 100)];
}
