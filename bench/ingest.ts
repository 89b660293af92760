// Ingest: a job writing 1 GiB to stdout through the supervisor into SQLite, against the same command
// redirected to a file, measured in the same run; plus the supervisor's peak RSS. The supervised job
// runs in a worker process of its own (this file with --worker) so its RSS is the supervisor's alone.
//   node build/bench/ingest.js [--quick] [--out FILE]
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { argValue, figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { JOB_ENV, openRig, tempDir } from './lib/rig.ts';
import { fmt, median, nowMs } from './lib/stats.ts';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

/** What the worker reports about one supervised run. */
interface WorkerResult {
  bytes: number;
  ms: number;
  storedBytes: number;
  droppedBytes: number;
  chunks: number;
  /** Peak RSS of the worker, from the kernel (VmHWM), bytes. */
  hwmBytes: number;
  /** Highest process.memoryUsage.rss() sampled every 5 ms during the job, bytes. */
  sampledPeakBytes: number;
  /** RSS just before the job started, bytes. */
  rssBeforeBytes: number;
  /** CPU time of the worker during the job: user and system, ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Database file + WAL size at the end, bytes. */
  dbFileBytes: number;
}

/** The command both sides run: `head -c N /dev/zero`. */
function headArgv(bytes: number): string[] {
  return ['head', '-c', String(bytes), '/dev/zero'];
}

/** The value of a `Vm…:` line of /proc/self/status, in bytes. */
function procStatusBytes(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Worker side: one supervised job writing `bytes` to stdout, with a log cap above it. */
async function worker(bytes: number): Promise<void> {
  const rig = openRig({ store: { logCapBytes: 2 * bytes + 64 * MIB, ...(process.env.PROBE_CHUNK ? { maxChunkBytes: Number(process.env.PROBE_CHUNK) } : {}) } });
  if (process.env.PROBE_PRAGMA) rig.store.db.pragma(process.env.PROBE_PRAGMA);
  if (process.env.PROBE_NULL) { const w = rig.store.logs.writer.bind(rig.store.logs); (rig.store.logs as any).writer = (id: number) => { const x = w(id); let n = 0; x.append = (_s: 1|2, d: Buffer) => { n += d.length; }; const c = x.close.bind(x); x.close = () => { rig.store.db.prepare('UPDATE jobs SET log_stored_bytes = ? WHERE id = ?').run(n, id); c(); }; return x; }; }
  if (process.env.PROBE_BATCH) { const lim = Number(process.env.PROBE_BATCH); const w = rig.store.logs.writer.bind(rig.store.logs); (rig.store.logs as any).writer = (id: number) => { const x = w(id); const ap = x.append.bind(x); let parts: Buffer[] = []; let n = 0; let t: any = null; const go = () => { if (t) clearTimeout(t); t = null; for (const p of parts) ap(1, p); parts = []; n = 0; x.flush(); }; x.append = (_s: 1|2, d: Buffer) => { parts.push(d); n += d.length; if (n >= lim) go(); else t ??= setTimeout(go, 2); }; const c = x.close.bind(x); x.close = () => { go(); c(); }; return x; }; }
  try {
    let sampledPeak = 0;
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
    }, 5);
    const rssBefore = process.memoryUsage.rss();
    const cpu0 = process.cpuUsage();
    const t0 = nowMs();
    const job = await rig.supervisor.start(rig.spec(headArgv(bytes)), 'bench');
    const done = await rig.supervisor.wait(job.id);
    const ms = nowMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    if (done.state !== 'exited' || done.exitCode !== 0) throw new Error(`job ended ${done.state} (${done.exitCode ?? done.reason})`);
    const acc = rig.store.db.prepare('SELECT log_stored_bytes AS stored, log_dropped_bytes AS dropped FROM jobs WHERE id = ?').get(job.id) as { stored: number; dropped: number };
    const chunks = (rig.store.db.prepare('SELECT count(*) AS n FROM log_chunks WHERE job_id = ?').get(job.id) as { n: number }).n;
    let dbFileBytes = 0;
    for (const f of ['jobctl.db', 'jobctl.db-wal']) {
      try {
        dbFileBytes += statSync(join(rig.dir, f)).size;
      } catch {
        // no WAL file
      }
    }
    const result: WorkerResult = {
      bytes,
      ms,
      storedBytes: acc.stored,
      droppedBytes: acc.dropped,
      chunks,
      hwmBytes: procStatusBytes('VmHWM'),
      sampledPeakBytes: sampledPeak,
      rssBeforeBytes: rssBefore,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      dbFileBytes,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await rig.close();
  }
}

/** Runs the worker in its own process; resolves with its result. */
function runWorker(bytes: number): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, '--worker', String(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`ingest worker exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as WorkerResult);
      } catch (err) {
        reject(new Error(`ingest worker printed no result: ${out}`, { cause: err }));
      }
    });
  });
}

/** Baseline: the same command with stdout redirected to a file by the shell; ms until it exited. */
function toFile(bytes: number): Promise<number> {
  const dir = tempDir('jobctl-bench-file-');
  const file = join(dir, 'out');
  return new Promise<number>((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn('/bin/sh', ['-c', `${headArgv(bytes).join(' ')} > ${file}`], { cwd: dir, env: JOB_ENV, stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = nowMs() - t0;
      try {
        const size = statSync(file).size;
        if (code !== 0 || size !== bytes) return reject(new Error(`baseline exited with ${code} after writing ${size} bytes`));
        resolve(ms);
      } catch (err) {
        reject(err as Error);
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function main(): Promise<void> {
  const quick = isQuick();
  const bytes = quick ? 256 * MIB : GIB;
  const rounds = quick ? 1 : 3;
  const sup: WorkerResult[] = [];
  const base: number[] = [];
  for (let r = 0; r < rounds; r++) {
    progress(`ingest round ${r + 1}/${rounds}: ${bytes / MIB} MiB to a file, then through the supervisor`);
    base.push(await toFile(bytes));
    const w = await runWorker(bytes);
    if (w.storedBytes !== bytes || w.droppedBytes !== 0) throw new Error(`stored ${w.storedBytes} of ${bytes} bytes (dropped ${w.droppedBytes})`);
    sup.push(w);
  }
  const mibps = (ms: number): number => bytes / MIB / (ms / 1000);
  const med = (f: (w: WorkerResult) => number): number => median(sup.map(f));
  const size = `${bytes / MIB} MiB`;
  const figures: Figure[] = [
    figure({
      bench: 'ingest',
      name: `throughput, ${size} stdout → SQLite`,
      value: median(sup.map((w) => mibps(w.ms))),
      unit: 'MiB/s',
      baseline: { name: 'same command > file', value: median(base.map(mibps)) },
      target: { on: 'ratio', op: '>=', limit: 0.5 },
      note: `median of ${rounds}; supervisor ${sup.map((w) => fmt(mibps(w.ms))).join(', ')} MiB/s; file ${base.map((ms) => fmt(mibps(ms))).join(', ')} MiB/s`,
    }),
    figure({
      bench: 'ingest',
      name: 'supervisor peak RSS (VmHWM)',
      value: med((w) => w.hwmBytes) / MIB,
      unit: 'MB',
      target: { on: 'value', op: '<', limit: 200 },
      note: `RSS before the job ${fmt(med((w) => w.rssBeforeBytes) / MIB)} MiB; peak sampled every 5 ms ${fmt(med((w) => w.sampledPeakBytes) / MIB)} MiB`,
    }),
  ];
  report('ingest', figures, [
    `MB here = MiB (2^20 bytes). Worker CPU during the job: user ${fmt(med((w) => w.cpuUserMs))} ms, system ${fmt(med((w) => w.cpuSystemMs))} ms; wall ${fmt(med((w) => w.ms))} ms`,
    `chunks stored ${fmt(med((w) => w.chunks))} (${fmt(bytes / med((w) => w.chunks) / 1024)} KiB each); database + WAL at the end ${fmt(med((w) => w.dbFileBytes) / MIB)} MiB`,
    ...figures.filter((f) => f.note).map((f) => `${f.name}: ${f.note}`),
  ]);
}

if (process.argv.includes('--worker')) await worker(Number(argValue('--worker')));
else await main();
