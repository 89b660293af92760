// Ingest: a job writing 1 GiB to stdout through the supervisor into SQLite, against the same command
// redirected to a file, measured in the same run; plus the supervisor's peak RSS. Each supervised run
// happens in a worker process of its own (this file with --worker) so that its RSS is the
// supervisor's alone and every run starts from an empty database.
//   node build/bench/ingest.js [--quick] [--rounds N] [--breakdown] [--pragma P]… [--store K=V]… [--out FILE]
// --breakdown adds two runs that split the cost: the same job with a log store that only counts
// (pipe → JobProcess capture alone), and the store alone (the same bytes appended to a LogWriter
// in 64 KiB pieces, no job). --pragma (repeatable) is for what-if experiments on the store's SQLite
// settings, e.g. --pragma wal_autocheckpoint=8192; --store (repeatable) likewise for the store's
// options: maxChunkBytes=N, or checkpoints.X=N (CheckpointOptions, e.g. checkpoints.restartAtBytes=
// 67108864, checkpoints.worker=false). The figures then are NOT jobctl's own.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamId } from '../src/rpc/model.ts';
import type { CheckpointOptions, LogStore, LogWriter, StoreOptions } from '../src/store/index.ts';
import { argValue, figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { JOB_ENV, openRig, tempDir } from './lib/rig.ts';
import { fmt, median, nowMs } from './lib/stats.ts';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

/** job: the real path; capture: the job with a counting log store; store: a LogWriter fed directly. */
type Mode = 'job' | 'capture' | 'store';

/** What the worker reports about one run. */
interface WorkerResult {
  mode: Mode;
  bytes: number;
  ms: number;
  storedBytes: number;
  droppedBytes: number;
  chunks: number;
  /** Peak RSS of the worker, from the kernel (VmHWM), bytes. */
  hwmBytes: number;
  /** Highest process.memoryUsage.rss() sampled every 5 ms during the run, bytes. */
  sampledPeakBytes: number;
  /** RSS just before the run, bytes. */
  rssBeforeBytes: number;
  /** CPU time of the worker during the run (all its threads): user and system, ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** CPU time of the main thread alone (the event loop: capture, commits), user + system, ms. */
  cpuMainMs: number;
  /** Largest size of the WAL file sampled every 5 ms during the run, bytes. */
  walPeakBytes: number;
  /** The store's checkpoints at the end of the run. */
  checkpoints: { mode: string; passes: number; holds: number; failures: number; forced: number; pauses: number; waits: number; waitedMs: number };
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

/** CPU time (user + system) of this process's main thread so far, ms, from /proc (clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  // Fields after the command name: state is the 3rd field, utime the 14th, stime the 15th.
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A log store whose writers only count bytes (for the capture breakdown). */
function countingLogs(real: LogStore): LogStore {
  return {
    ...real,
    writer(jobId): LogWriter {
      let bytes = 0;
      let seq = 0;
      return {
        jobId,
        append(_stream: StreamId, data: Buffer) {
          bytes += data.length;
          seq += 1;
          return true;
        },
        drained: () => Promise.resolve(),
        flush() {},
        close() {
          counted.set(jobId, { bytes, seq });
        },
        get storedBytes() {
          return bytes;
        },
        droppedBytes: 0,
        dropReason: null,
        settle() {},
        get committedSeq() {
          return seq;
        },
      };
    },
  };
}
const counted = new Map<number, { bytes: number; seq: number }>();

/** Worker side: one run of `mode` moving `bytes`, with a log cap above it; prints a WorkerResult. */
async function worker(mode: Mode, bytes: number, pragmas: string[]): Promise<void> {
  const rig = openRig({ store: storeOptions(2 * bytes + 64 * MIB), pragmas, ...(mode === 'capture' ? { wrapLogs: countingLogs } : {}) });
  try {
    let sampledPeak = 0;
    let walPeak = 0;
    const wal = join(rig.dir, 'jobctl.db-wal');
    const sampler = setInterval(() => {
      sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
      walPeak = Math.max(walPeak, statSync(wal, { throwIfNoEntry: false })?.size ?? 0);
    }, 5);
    const rssBefore = process.memoryUsage.rss();
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpuMs();
    const t0 = nowMs();
    let jobId: number;
    if (mode === 'store') {
      // As the capture feeds it: fresh 64 KiB buffers (a pipe read each), the writer committing on
      // the next turn of the event loop after each few reads.
      const { id } = rig.store.jobs.insert({ owner: 'bench', name: null, argv: ['store'], cwd: rig.dir, env: {}, limits: {}, createdAt: Date.now() });
      jobId = id;
      const w = rig.store.logs.writer(id);
      const piece = 64 * 1024;
      for (let off = 0, n = 0; off < bytes; off += piece, n++) {
        w.append(1, Buffer.alloc(Math.min(piece, bytes - off)));
        if (n % 3 === 2) await new Promise((r) => setImmediate(r));
      }
      w.close();
    } else {
      const job = await rig.supervisor.start(rig.spec(headArgv(bytes)), 'bench');
      jobId = job.id;
      const done = await rig.supervisor.wait(job.id);
      if (done.state !== 'exited' || done.exitCode !== 0) throw new Error(`job ended ${done.state} (${done.exitCode ?? done.reason})`);
    }
    const ms = nowMs() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMain = mainThreadCpuMs() - main0;
    clearInterval(sampler);
    let stored: number;
    let dropped: number;
    let chunks: number;
    if (mode === 'capture') {
      const c = counted.get(jobId);
      stored = c?.bytes ?? 0;
      dropped = 0;
      chunks = c?.seq ?? 0;
    } else {
      const acc = rig.store.db.prepare('SELECT log_stored_bytes AS stored, log_dropped_bytes AS dropped FROM jobs WHERE id = ?').get(jobId) as { stored: number; dropped: number };
      stored = acc.stored;
      dropped = acc.dropped;
      chunks = (rig.store.db.prepare('SELECT count(*) AS n FROM log_chunks WHERE job_id = ?').get(jobId) as { n: number }).n;
    }
    const result: WorkerResult = {
      mode,
      bytes,
      ms,
      storedBytes: stored,
      droppedBytes: dropped,
      chunks,
      hwmBytes: procStatusBytes('VmHWM'),
      sampledPeakBytes: sampledPeak,
      rssBeforeBytes: rssBefore,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      cpuMainMs: cpuMain,
      walPeakBytes: walPeak,
      checkpoints: { ...rig.store.checkpoints },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await rig.close();
  }
}

/** Runs a worker in its own process; resolves with its result. */
function runWorker(mode: Mode, bytes: number): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const pragmaArgs = [...pragmas().flatMap((p) => ['--pragma', p]), ...storeSettings().flatMap((p) => ['--store', p])];
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, '--worker', mode, String(bytes), ...pragmaArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`ingest worker (${mode}) exited with ${code}`));
      try {
        const r = JSON.parse(out.trim().split('\n').at(-1) as string) as WorkerResult;
        if (r.storedBytes !== bytes || r.droppedBytes !== 0) return reject(new Error(`${mode}: stored ${r.storedBytes} of ${bytes} bytes (dropped ${r.droppedBytes})`));
        resolve(r);
      } catch (err) {
        reject(new Error(`ingest worker printed no result: ${out}`, { cause: err }));
      }
    });
  });
}

/** The --pragma values given (what-if experiments). */
function pragmas(): string[] {
  return process.argv.flatMap((a, i) => (process.argv[i - 1] === '--pragma' ? [a] : []));
}

/** The --store values given (what-if experiments). */
function storeSettings(): string[] {
  return process.argv.flatMap((a, i) => (process.argv[i - 1] === '--store' ? [a] : []));
}

/** The what-if settings given, as one label ('' for jobctl's own). */
function whatIf(): string {
  return [...pragmas(), ...storeSettings()].join(',');
}

/** The store's options for a run: the log cap, and the --store settings. */
function storeOptions(logCapBytes: number): StoreOptions {
  const options: StoreOptions = { logCapBytes };
  const checkpoints: Record<string, number | boolean> = {};
  for (const setting of storeSettings()) {
    const m = /^(maxChunkBytes|checkpoints\.(\w+))=(.+)$/.exec(setting);
    if (m === null) throw new Error(`--store ${setting}: expected maxChunkBytes=N or checkpoints.OPTION=VALUE`);
    const value = m[3] === 'false' ? false : m[3] === 'true' ? true : Number(m[3]);
    if (m[2] === undefined) options.maxChunkBytes = value as number;
    else checkpoints[m[2]] = value;
  }
  options.checkpoints = checkpoints as CheckpointOptions;
  return options;
}

/**
 * Baseline: the same command with stdout redirected to a file by the shell; ms until it exited. With
 * durable, also until `sync FILE` (fsync) returned: the bytes on the disk, as a commit to SQLite
 * makes them at its next checkpoint — `> file` alone leaves them in the page cache.
 */
function toFile(bytes: number, durable = false): Promise<number> {
  const dir = tempDir('jobctl-bench-file-');
  const file = join(dir, 'out');
  return new Promise<number>((resolve, reject) => {
    const t0 = nowMs();
    const script = `${headArgv(bytes).join(' ')} > ${file}${durable ? ` && sync ${file}` : ''}`;
    const child = spawn('/bin/sh', ['-c', script], { cwd: dir, env: JOB_ENV, stdio: 'ignore' });
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
  const breakdown = process.argv.includes('--breakdown');
  const bytes = quick ? 256 * MIB : GIB;
  const rounds = Number(argValue('--rounds') ?? (quick ? 1 : 3));
  const modes: Mode[] = breakdown ? ['job', 'capture', 'store'] : ['job'];
  const runs = new Map<Mode, WorkerResult[]>(modes.map((m) => [m, []]));
  const base: number[] = [];
  const durableBase: number[] = [];
  for (let r = 0; r < rounds; r++) {
    progress(`ingest round ${r + 1}/${rounds}: ${bytes / MIB} MiB to a file, to a file and fsync, then ${modes.join(', ')}`);
    base.push(await toFile(bytes));
    durableBase.push(await toFile(bytes, true));
    for (const m of modes) runs.get(m)?.push(await runWorker(m, bytes));
  }
  const mibps = (ms: number): number => bytes / MIB / (ms / 1000);
  const size = `${bytes / MIB} MiB`;
  const baseline = { name: 'same command > file', value: median(base.map(mibps)) };
  const job = runs.get('job') as WorkerResult[];
  const med = (rs: WorkerResult[], f: (w: WorkerResult) => number): number => median(rs.map(f));
  const figures: Figure[] = [
    figure({
      bench: 'ingest',
      name: `throughput, ${size} stdout → SQLite`,
      value: med(job, (w) => mibps(w.ms)),
      unit: 'MiB/s',
      baseline,
      target: { on: 'ratio', op: '>=', limit: 0.5 },
      note: `median of ${rounds}; supervisor ${job.map((w) => fmt(mibps(w.ms))).join(', ')} MiB/s; file ${base.map((ms) => fmt(mibps(ms))).join(', ')} MiB/s`,
    }),
    figure({
      bench: 'ingest',
      name: `throughput, ${size} stdout → SQLite, against a durable file`,
      value: med(job, (w) => mibps(w.ms)),
      unit: 'MiB/s',
      baseline: { name: 'same command > file; sync file', value: median(durableBase.map(mibps)) },
      note: `the disk's own bound: SQLite in WAL mode writes every byte to the disk twice (WAL, then the database at a checkpoint, each fsynced), a durable file once; file + fsync ${durableBase.map((ms) => fmt(mibps(ms))).join(', ')} MiB/s`,
    }),
    figure({
      bench: 'ingest',
      name: 'supervisor peak RSS (VmHWM)',
      value: med(job, (w) => w.hwmBytes) / MIB,
      unit: 'MiB',
      target: { on: 'value', op: '<', limit: 200 },
      note: `RSS before the job ${fmt(med(job, (w) => w.rssBeforeBytes) / MIB)} MiB; highest RSS sampled every 5 ms ${fmt(med(job, (w) => w.sampledPeakBytes) / MIB)} MiB`,
    }),
  ];
  const notes = [
    ...(whatIf() !== '' ? [`WHAT-IF: ${whatIf()} applied to the store — these are not jobctl's settings`] : []),
    `a MiB is 2^20 bytes (the 200 MB target is read as 200 MiB; 200 × 10^6 bytes is 191 MiB)`,
    `WAL file: largest ${fmt(med(job, (w) => w.walPeakBytes) / MIB)} MiB (sampled every 5 ms); checkpoints ${job.map((w) => `${w.checkpoints.mode}: ${w.checkpoints.passes} passes, ${w.checkpoints.holds} holds, ${w.checkpoints.forced} forced, ${w.checkpoints.failures} failed, writers paused their job ${w.checkpoints.pauses}× and waited ${w.checkpoints.waits}× ${fmt(w.checkpoints.waitedMs)} ms`).join('; ')}`,
    `supervisor CPU during the job: user ${fmt(med(job, (w) => w.cpuUserMs))} ms, system ${fmt(med(job, (w) => w.cpuSystemMs))} ms (main thread ${fmt(med(job, (w) => w.cpuMainMs))} ms), wall ${fmt(med(job, (w) => w.ms))} ms; ${fmt(med(job, (w) => w.chunks))} chunks stored (${fmt(bytes / med(job, (w) => w.chunks) / 1024)} KiB on average)`,
  ];
  if (breakdown) {
    for (const [mode, label] of [
      ['capture', 'capture only (log store counts, stores nothing)'],
      ['store', 'store only (LogWriter fed 64 KiB pieces, no job)'],
    ] as const) {
      const rs = runs.get(mode) as WorkerResult[];
      figures.push(figure({ bench: 'ingest', name: `breakdown: ${label}`, value: med(rs, (w) => mibps(w.ms)), unit: 'MiB/s', baseline }));
      notes.push(`${label}: CPU user ${fmt(med(rs, (w) => w.cpuUserMs))} ms, system ${fmt(med(rs, (w) => w.cpuSystemMs))} ms (main thread ${fmt(med(rs, (w) => w.cpuMainMs))} ms), wall ${fmt(med(rs, (w) => w.ms))} ms`);
    }
  }
  if (whatIf() !== '') for (const f of figures) f.name = `what-if ${whatIf()}: ${f.name}`;
  report('ingest', figures, [...notes, ...figures.filter((f) => f.note).map((f) => `${f.name}: ${f.note}`)]);
}

if (process.argv.includes('--worker')) {
  const i = process.argv.indexOf('--worker');
  await worker(process.argv[i + 1] as Mode, Number(process.argv[i + 2]), pragmas());
} else {
  await main();
}
