// jobctl against pm2, task-spooler (tsp), nq and the physical limit: installs the peers itself (pm2
// from the npm registry into a temporary prefix; tsp and nq with apt-get when missing), runs every
// scenario for each tool that can do it, and prints one table of medians and same-run ratios.
//   node scripts/build.mjs --tests && node --enable-source-maps build/bench/compare/run.js [--quick]
//     [--only idle,submit,throughput,ingest,follow,fanout,history] [--peers jobctl,tsp,nq,pm2] [--md FILE]
// Everything it starts (daemons, peer daemons, jobs, followers) and every temp dir is removed at the
// end, also on Ctrl-C. Traffic stays on loopback.
import { writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { argValue, cleanupAll, progress, QUICK, run } from './lib.ts';
import { ensureAptPeers, JobctlPeer, NqPeer, Pm2Peer, TspPeer, type Peer } from './peers.ts';
import { renderNotes, renderTable, type Row } from './report.ts';
import { idleDaemons } from './idle.ts';
import { submitLatency, submitThroughput } from './submit.ts';
import { ingest } from './ingest.ts';
import { followLatency } from './follow.ts';
import { fanOut } from './fanout.ts';
import { historyAtScale } from './history.ts';

const SCENARIOS: Record<string, (peers: Peer[]) => Promise<Row[]>> = {
  idle: idleDaemons,
  submit: submitLatency,
  throughput: submitThroughput,
  ingest,
  follow: followLatency,
  fanout: fanOut,
  history: () => historyAtScale(),
};

async function machine(): Promise<string> {
  const disk = await run('df', ['-h', '--output=source,fstype,size,avail', process.env.JOBCTL_BENCH_DIR ?? '/tmp']).catch(() => null);
  const d = disk?.stdout.trim().split('\n')[1]?.trim().split(/\s+/);
  return [
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM (${Math.round(freemem() / 2 ** 30)} GiB free)`,
    `Linux ${release()}, Node ${process.version}`,
    d ? `temp dirs on ${d[0]} (${d[1]}, ${d[3]} free)` : '',
    `load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  ].filter(Boolean).join('; ');
}

async function main(): Promise<number> {
  const only = argValue('--only')?.split(',');
  const names = only ?? Object.keys(SCENARIOS);
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    return 2;
  }
  const header = await machine();
  process.stdout.write(`jobctl vs pm2, task-spooler, nq${QUICK ? ' (quick: indicative only)' : ''}\nmachine: ${header}\n`);
  const skipped: string[] = [];
  const peers: Peer[] = [];
  const jobctl = new JobctlPeer();
  peers.push(jobctl);
  const apt = await ensureAptPeers();
  if (apt.tsp) skipped.push(`tsp ${apt.tsp}`);
  else peers.push(new TspPeer());
  if (apt.nq) skipped.push(`nq ${apt.nq}`);
  else peers.push(new NqPeer());
  peers.push(new Pm2Peer());
  const wanted = argValue('--peers')?.split(',');
  const started: Peer[] = [];
  for (const p of peers.filter((x) => !wanted || wanted.includes(x.name))) {
    try {
      await p.start();
      started.push(p);
    } catch (err) {
      skipped.push(`${p.name} skipped: ${(err as Error).message}`);
    }
  }
  if (!started.includes(jobctl)) throw new Error(`jobctl did not start: ${skipped.join('; ')}`);
  process.stdout.write(`tools: ${started.map((p) => `${p.name} (${p.version})`).join(', ')}\n${skipped.map((s) => `  ${s}\n`).join('')}`);

  const rows: Row[] = [];
  const failed: string[] = [];
  for (const name of names) {
    const t0 = Date.now();
    try {
      rows.push(...(await (SCENARIOS[name] as (p: Peer[]) => Promise<Row[]>)(started)));
    } catch (err) {
      failed.push(name);
      process.stderr.write(`scenario ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
    }
    progress(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  const notes = [...renderNotes(rows), ...skipped];
  process.stdout.write(`\n== jobctl vs pm2, task-spooler, nq${QUICK ? ' (quick)' : ''} ==\nmachine: ${header}\nload average at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n\n`);
  process.stdout.write(`${renderTable(rows, false)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  const targets = rows.filter((r) => r.pass !== undefined);
  process.stdout.write(`\n${targets.filter((r) => r.pass).length}/${targets.length} targets met${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}\n`);
  const md = argValue('--md');
  if (md) writeFileSync(md, `machine: ${header}\n\n${renderTable(rows, true)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  return failed.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
