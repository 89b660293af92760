// History at scale: many finished jobs and many gigabytes of output, then the everyday reads — `ps`,
// `status`, `logs --tail 100` on a 1 GiB log — the daemon's start-up on that database, and the
// database's size against the bytes logged. tsp gets the same history (its equivalents: `tsp -l`,
// `tsp -i`, `tail -n 100` of its output file, which is also the physical limit of a tail). nq keeps no
// list and pm2 would need 10,000 `pm2 start` calls (≈ 1.5 h): both are left out, with that note.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.ts';
import { readIdentity } from '../../src/pki/index.ts';
import { JobctlPeer, TspPeer } from './peers.ts';
import { bytes, fileSize, median, now, progress, QUICK, runOk, tempDir } from './lib.ts';
import { ratio, type Row } from './report.ts';

const LINE = 'history line: the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrstuvwxyz';
const GIB = 1024 * 1024 * 1024;

/** A job that writes `size` bytes of text lines. */
function logJob(size: number): string[] {
  return ['/bin/sh', '-c', `yes '${LINE}' | head -c ${size}`];
}

/** Lines in text: each ends with "\n", plus an unterminated last one (head -c cuts the last line). */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

/** Median wall time of `times` runs of fn. */
async function timeIt(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = now();
    await fn();
    ms.push(now() - t0);
  }
  return median(ms);
}

/** Size of every file in dir (not recursive). */
function dirBytes(dir: string, names: string[]): number {
  return names.reduce((s, n) => s + fileSize(join(dir, n)), 0);
}

export async function historyAtScale(): Promise<Row[]> {
  const jobs = QUICK ? 1000 : 10_000;
  const logJobs = QUICK ? 1 : 10;
  const reps = QUICK ? 5 : 10;
  const logged = logJobs * GIB;
  progress(`history: ${jobs} finished jobs + ${logJobs} × 1 GiB of text output, jobctl and tsp`);

  // ---- jobctl ----
  const j = new JobctlPeer({ logCap: '2G', retention: { maxFinishedJobs: 100_000_000, maxAgeDays: null } });
  await j.start();
  const daemonJson = JSON.parse(readFileSync(join(j.home, 'daemon.json'), 'utf8')) as { endpoint: string };
  const conn = await Connection.open(daemonJson.endpoint, readIdentity(join(j.home, 'pki', 'admin')));
  const cwd = tempDir('cmp-history-cwd-');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const t0 = now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs) {
      next++;
      await conn.call('job.start', { argv: ['/bin/true'], cwd, env, limits: {}, name: null });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const apiRate = (jobs / (now() - t0)) * 1000;
  progress(`  jobctl: ${jobs} jobs via job.start in ${((now() - t0) / 1000).toFixed(1)} s`);
  const logIds: number[] = [];
  for (let i = 0; i < logJobs; i++) {
    const job = await conn.call('job.start', { argv: logJob(GIB), cwd, env, limits: {}, name: `log-${i}` });
    await conn.call('job.wait', { id: job.id });
    logIds.push(job.id);
  }
  progress(`  jobctl: ${logJobs} × 1 GiB logged`);
  const mid = String(Math.floor(jobs / 2));
  const big = String(logIds[0]);
  // The same reads as requests over an open connection: the daemon's share of each CLI call.
  const apiPs = await timeIt(reps, () => conn.call('job.list', { limit: 1000 }));
  const apiStatus = await timeIt(reps, () => conn.call('job.get', { id: Number(mid) }));
  const apiTail = await timeIt(reps, async () => {
    let text = '';
    const { done } = await conn.streamLogs({ id: Number(big), follow: false, tailLines: 100 }, { onChunk: (_s, data) => void (text += data.toString('latin1')) });
    await done;
    if (lineCount(text) !== 100) throw new Error(`logs.subscribe tailLines 100 gave ${lineCount(text)} lines`);
  });
  conn.close();
  const tail = await j.cli(['logs', '--tail', '100', big]);
  if (lineCount(tail.stdout) !== 100) throw new Error(`jobctl logs --tail 100 printed ${lineCount(tail.stdout)} lines`);
  const jPs = await timeIt(reps, () => j.cli(['ps']));
  const jStatus = await timeIt(reps, () => j.cli(['status', mid]));
  const jTail = await timeIt(reps, () => j.cli(['logs', '--tail', '100', big]));
  const dbFiles = ['jobctl.db', 'jobctl.db-wal', 'jobctl.db-shm'];
  const dbSize = dirBytes(j.home, dbFiles);
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) {
    await j.stopDaemon();
    startups.push(await j.startDaemon());
  }
  await j.stop();
  rmSync(join(j.home, 'jobctl.db'), { force: true });

  // ---- tsp ----
  const t = new TspPeer();
  let tspRows: { ps: number; status: number; tail: number; limitTail: number; size: number } | null = null;
  try {
    await t.start();
    for (let i = 0; i < jobs; i++) await t.submit(['/bin/true']);
    let lastLog = '';
    for (let i = 0; i < logJobs; i++) {
      const { ref } = await t.submit(logJob(GIB));
      await t.wait(ref);
      lastLog = ref.id;
    }
    progress(`  tsp: ${jobs} jobs + ${logJobs} × 1 GiB`);
    const out = await t.outputFile({ id: lastLog });
    const outDir = join(out, '..');
    const tspPs = await timeIt(reps, () => t.list());
    const tspStatus = await timeIt(reps, () => t.info(mid));
    const tailT = await timeIt(reps, () => runOk('tail', ['-n', '100', out]));
    let size = 0;
    for (const name of readdirSync(outDir)) size += statSync(join(outDir, name)).size;
    tspRows = { ps: tspPs, status: tspStatus, tail: tailT, limitTail: tailT, size };
  } finally {
    await t.stop();
  }

  const note = (x: number | undefined): number | string => (x === undefined ? 'n/a' : x);
  const skip = { nq: 'no list', pm2: 'not run' } as const;
  return [
    {
      scenario: 'history at scale',
      figure: `job.start over one open connection (32 in flight; API, no CLI process)`,
      unit: 'jobs/s',
      values: { jobctl: apiRate },
      note: 'the daemon side of a submission, without a process start and TLS handshake per job.',
    },
    {
      scenario: 'history at scale',
      figure: `\`ps\` with ${jobs} finished jobs (jobctl: newest 1000, its default; tsp -l: all)`,
      unit: 'ms',
      values: { jobctl: jPs, tsp: note(tspRows?.ps), ...skip },
      ratio: `jobctl/tsp ${ratio(jPs, tspRows?.ps)}; request alone (job.list) ${Math.round(apiPs * 10) / 10} ms`,
      note: `nq keeps no job list (a directory of output files); pm2 was not given ${jobs} processes: one \`pm2 start\` each at ≈ 0.5 s and growing with the list.`,
    },
    {
      scenario: 'history at scale',
      figure: '`status ID` of one finished job',
      unit: 'ms',
      values: { jobctl: jStatus, tsp: note(tspRows?.status), ...skip },
      ratio: `jobctl/tsp ${ratio(jStatus, tspRows?.status)}; request alone (job.get) ${Math.round(apiStatus * 10) / 10} ms`,
    },
    {
      scenario: 'history at scale',
      figure: '`logs --tail 100` of a 1 GiB log',
      unit: 'ms',
      values: { jobctl: jTail, tsp: note(tspRows?.tail), ...skip, limit: tspRows?.limitTail ?? 'n/a' },
      limitName: 'tail -n 100 file',
      ratio: `jobctl/tail ${ratio(jTail, tspRows?.limitTail)}; request alone (logs.subscribe tailLines 100) ${Math.round(apiTail * 10) / 10} ms`,
      target: '< 50 ms',
      pass: jTail < 50,
      note: `a whole \`jobctl logs --tail 100\` process: Node.js start (≈ 40 ms before any code on an idle core), bundle load, TLS handshake, request. The request itself (finding the last 100 lines reads the last chunk or two, whatever the log's size) takes ${Math.round(apiTail * 10) / 10} ms over an open connection.`,
    },
    {
      scenario: 'history at scale',
      figure: `daemon start-up on that database (spawn → daemon.json; median of 3)`,
      unit: 'ms',
      values: { jobctl: median(startups), tsp: 'keeps nothing', nq: 'no daemon', pm2: 'not run' },
    },
    {
      scenario: 'history at scale',
      figure: `storage used / bytes logged (${bytes(logged)} logged)`,
      unit: '×',
      values: { jobctl: dbSize / logged, tsp: tspRows ? tspRows.size / logged : 'n/a', ...skip },
      note: `jobctl: the database file with its WAL (${bytes(dbSize)}); tsp: its output files.`,
    },
  ];
}
