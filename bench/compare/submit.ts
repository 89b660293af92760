// Submitting: the latency of one run-equivalent of `true` (the CLI call, spawn to exit), and the
// throughput of many submissions from a sequential script loop. Rounds alternate between the tools so
// that every tool sees the same machine load; each figure is the median over the rounds.
import type { Peer } from './peers.ts';
import { JobctlPeer, Pm2Peer } from './peers.ts';
import { median, now, progress, QUICK, sleep } from './lib.ts';
import { ratio, type Row } from './report.ts';

/** `true`, by absolute path (pm2 resolves bare names against its own cwd first). */
const TRUE = '/bin/true';

/** Submit latency: one `run -- true` per tool per round. */
export async function submitLatency(peers: Peer[]): Promise<Row[]> {
  const rounds = QUICK ? 10 : 30;
  const ms = new Map<string, number[]>(peers.map((p) => [p.name, []]));
  progress(`submit latency: ${rounds} rounds × ${peers.map((p) => p.name).join(', ')}`);
  // One unmeasured call each: daemons warm, pages cached.
  for (const p of peers) await p.submit([TRUE]);
  for (let r = 0; r < rounds; r++) {
    for (const p of peers) {
      ms.get(p.name)?.push((await p.submit([TRUE])).ms);
      await sleep(20);
    }
  }
  for (const p of peers) if (p instanceof Pm2Peer) await p.deleteAll();
  const med = (name: string): number | undefined => {
    const s = ms.get(name);
    return s && s.length ? median(s) : undefined;
  };
  const j = med('jobctl');
  const pm2 = med('pm2');
  const tsp = med('tsp');
  return [
    {
      scenario: 'submit latency',
      figure: 'run-equivalent of `true`, CLI spawn → exit (median)',
      unit: 'ms',
      values: Object.fromEntries(peers.map((p) => [p.name, med(p.name) as number])),
      ratio: `jobctl/tsp ${ratio(j, tsp)}; jobctl/pm2 ${ratio(j, pm2)}`,
      note: `${rounds} rounds. jobctl run returns once the command runs inside its cgroups (tsp and nq return once it is queued). A jobctl CLI call is a Node.js process start (≈ 40 ms of V8/Node bootstrap on an idle core before any jobctl code), a TLS 1.3 handshake with client certificate, and the job.start round trip; tsp and nq are small C programs that start in ≈ 1 ms.`,
    },
  ];
}

/** Throughput: N submissions of `true` from a sequential loop, in batches alternating between tools. */
export async function submitThroughput(peers: Peer[]): Promise<Row[]> {
  const batches = QUICK ? 3 : 5;
  const perBatch = QUICK ? 50 : 200;
  const total = batches * perBatch;
  progress(`submission throughput: ${batches} batches × ${perBatch} jobs × ${peers.map((p) => p.name).join(', ')}`);
  const rates = new Map<string, number[]>(peers.map((p) => [p.name, []]));
  const elapsed = new Map<string, number>(peers.map((p) => [p.name, 0]));
  // jobctl's batch form (`run --batch -`: every job over one connection) in the same rounds.
  const jobctl = peers.find((p): p is JobctlPeer => p instanceof JobctlPeer);
  const batchRates: number[] = [];
  let batchElapsed = 0;
  for (let b = 0; b < batches; b++) {
    for (const p of peers) {
      const t0 = now();
      for (let i = 0; i < perBatch; i++) await p.submit([TRUE]);
      const ms = now() - t0;
      rates.get(p.name)?.push((perBatch / ms) * 1000);
      elapsed.set(p.name, (elapsed.get(p.name) ?? 0) + ms);
    }
    if (jobctl) {
      const { ms } = await jobctl.submitBatch(Array.from({ length: perBatch }, () => [TRUE]));
      batchRates.push((perBatch / ms) * 1000);
      batchElapsed += ms;
    }
    progress(`  batch ${b + 1}/${batches} done`);
  }
  for (const p of peers) if (p instanceof Pm2Peer) await p.deleteAll();
  const med = (name: string): number | undefined => {
    const s = rates.get(name);
    return s && s.length ? median(s) : undefined;
  };
  const j = med('jobctl');
  const tsp = med('tsp');
  const pm2 = med('pm2');
  const rows: Row[] = [
    {
      scenario: 'submission throughput',
      figure: `${total} × \`true\` from a sequential loop (median of ${batches} batches)`,
      unit: 'jobs/s',
      values: Object.fromEntries(peers.map((p) => [p.name, med(p.name) as number])),
      ratio: `jobctl/pm2 ${ratio(j, pm2)}; jobctl/tsp ${ratio(j, tsp)}`,
      target: 'faster than pm2; ≥ 0.5× tsp',
      pass: j !== undefined && (pm2 === undefined || j > pm2) && (tsp === undefined || j >= 0.5 * tsp),
      note: `time for all ${total}: ${peers.map((p) => `${p.name} ${((elapsed.get(p.name) ?? 0) / 1000).toFixed(1)} s`).join(', ')}. Each submission is one CLI process: jobctl's floor is a Node.js start plus a TLS handshake (see submit latency), a C client's is a fork/exec and a Unix-socket message — the same job.start calls over one open connection reach the rate in "history at scale / job.start over one connection".`,
    },
  ];
  if (jobctl && batchRates.length > 0) {
    const batch = median(batchRates);
    rows.push({
      scenario: 'submission throughput',
      figure: `${total} × \`true\` as \`jobctl run --batch -\` (${perBatch} lines per call, median of ${batches}) vs the others' loops`,
      unit: 'jobs/s',
      values: { jobctl: batch },
      ratio: `jobctl batch/pm2 ${ratio(batch, pm2)}; jobctl batch/tsp ${ratio(batch, tsp)}`,
      target: 'faster than pm2; ≥ 0.5× tsp',
      pass: (pm2 === undefined || batch > pm2) && (tsp === undefined || batch >= 0.5 * tsp),
      note: `time for all ${total}: ${(batchElapsed / 1000).toFixed(1)} s. One CLI process and one TLS connection per ${perBatch} jobs, 32 job.start calls in flight; each id is printed once its job runs inside its cgroups (tsp and nq return once the job is queued).`,
    });
  }
  return rows;
}
