// Job start rate: the full lifecycle of a job that runs /bin/true (start → exit → result stored)
// through the supervisor with cgroups and limits, against a plain child_process.spawn of the same
// command (spawn → exit → pipes closed), measured in the same run, interleaved round by round.
//   node build/bench/start-rate.js [--quick] [--breakdown] [--out FILE]
// --breakdown adds the median lifecycle of intermediate variants, one job of each in turn, to show
// where the supervisor's extra time goes: jobctl-spawner, joining the cgroups, the rest.
import { spawn, type SpawnOptions } from 'node:child_process';
import type { JobCgroup } from '../src/cgroup/index.ts';
import { Spawner } from '../src/jobs/spawner/spawner.ts';
import { spawnerFile } from '../src/jobs/spawner/spawner-file.ts';
import type { Limits } from '../src/rpc/model.ts';
import { figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { JOB_ENV, openRig, type Rig } from './lib/rig.ts';
import { fmt, median, nowMs, percentile } from './lib/stats.ts';

const COMMAND = '/bin/true';
/** Limits every supervised job runs under: memory and pids, enforced through cgroups. */
const LIMITS = { memory: 256 * 1024 * 1024, pids: 64 };

const quick = isQuick();
const ROUNDS = quick ? 3 : 7;
const JOBS_PER_ROUND = quick ? 40 : 150;
const PARALLEL = 4;

/** Runs /bin/true with plain spawn; resolves when it exited and its pipes closed. */
function plainSpawn(cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(COMMAND, [], { cwd, env: JOB_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${COMMAND} exited with ${code}`))));
  });
}

/** Spawns file with args and resolves when it exited 0 and every pipe closed (fd 3 included). */
function spawnClosed(file: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, options);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited with ${code}`))));
    for (const s of child.stdio) if (s && 'resume' in s) s.resume();
  });
}

/** Runs /bin/true as a supervised job; resolves once its result is stored. */
async function supervised(rig: Rig, limits: Limits = LIMITS): Promise<void> {
  const job = await rig.supervisor.start(rig.spec([COMMAND], limits), 'bench');
  const done = await rig.supervisor.wait(job.id);
  if (done.state !== 'exited' || done.exitCode !== 0) throw new Error(`job ${job.id} ended ${done.state} (${done.exitCode ?? done.reason})`);
}

/** Runs `jobs` lifecycles with `parallel` workers; returns the rate (jobs/s) and each lifecycle's ms. */
async function measure(run: () => Promise<void>, jobs: number, parallel: number): Promise<{ rate: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs) {
      next++;
      const t0 = nowMs();
      await run();
      latencies.push(nowMs() - t0);
    }
  };
  const t0 = nowMs();
  await Promise.all(Array.from({ length: parallel }, worker));
  return { rate: (jobs * 1000) / (nowMs() - t0), latencies };
}

async function main(): Promise<void> {
  const rig = openRig();
  const cgroups = rig.cgroups;
  if (!cgroups) {
    await rig.close();
    throw new Error('this host has no usable cgroups: the start-rate benchmark measures the cgroup path');
  }
  const figures: Figure[] = [];
  const extraNotes: string[] = [];
  try {
    const base = () => plainSpawn(rig.dir);
    const sup = () => supervised(rig);
    // Warm-up: JIT, prepared statements, page cache of /bin/sh and /bin/true.
    await measure(base, 20, 1);
    await measure(sup, 20, 1);
    for (const parallel of [1, PARALLEL]) {
      const baseRates: number[] = [];
      const supRates: number[] = [];
      const baseLat: number[] = [];
      const supLat: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        progress(`start rate, ${parallel} at a time, round ${r + 1}/${ROUNDS}`);
        // Alternate which goes first so a drift of the host does not favour either.
        const order = r % 2 === 0 ? [false, true] : [true, false];
        for (const isSup of order) {
          const m = await measure(isSup ? sup : base, JOBS_PER_ROUND, parallel);
          (isSup ? supRates : baseRates).push(m.rate);
          (isSup ? supLat : baseLat).push(...m.latencies);
        }
      }
      const mode = parallel === 1 ? 'sequential' : `${parallel} in parallel`;
      const rounds = `median of ${ROUNDS} rounds × ${JOBS_PER_ROUND} jobs`;
      figures.push(
        figure({
          bench: 'start-rate',
          name: `start rate, ${mode}`,
          value: median(supRates),
          unit: 'jobs/s',
          baseline: { name: 'plain spawn', value: median(baseRates) },
          target: { on: 'ratio', op: '>=', limit: 0.7 },
          note: `${rounds}; supervisor rounds ${supRates.map((x) => fmt(x)).join(', ')}; spawn rounds ${baseRates.map((x) => fmt(x)).join(', ')}`,
        }),
        figure({
          bench: 'start-rate',
          name: `lifecycle p50, ${mode}`,
          value: percentile(supLat, 50),
          unit: 'ms',
          baseline: { name: 'plain spawn', value: percentile(baseLat, 50) },
        }),
        figure({
          bench: 'start-rate',
          name: `lifecycle p99, ${mode}`,
          value: percentile(supLat, 99),
          unit: 'ms',
          baseline: { name: 'plain spawn', value: percentile(baseLat, 99) },
        }),
      );
    }
    if (process.argv.includes('--breakdown')) {
      const b = await breakdown(rig);
      figures.push(...b.figures);
      extraNotes.push(...b.notes);
    }
  } finally {
    await rig.close();
  }
  report('start-rate', figures, [
    `command ${COMMAND}; supervised jobs run with limits memory=256MiB pids=64 (${cgroups.capabilities.layout} cgroup layout, kill method ${cgroups.capabilities.killMethod})`,
    ...figures.filter((f) => f.note).map((f) => `${f.name}: ${f.note}`),
    ...extraNotes,
  ]);
}

/** Step timings collected while `recording` is true: label → ms of each call. */
const steps = new Map<string, number[]>();
let recording = false;

/** Replaces obj[name] on the instance by a wrapper that times each call (to settlement for promises). */
function timeCalls<T extends object>(obj: T, name: keyof T & string, label: string, after?: (result: unknown) => void): void {
  const original = (obj[name] as (...args: unknown[]) => unknown).bind(obj);
  const record = (t0: number): void => {
    if (recording) (steps.get(label) ?? steps.set(label, []).get(label))?.push(nowMs() - t0);
  };
  (obj as Record<string, unknown>)[name] = (...args: unknown[]): unknown => {
    const t0 = nowMs();
    const result = original(...args);
    if (result instanceof Promise) return result.finally(() => record(t0));
    record(t0);
    after?.(result);
    return result;
  };
}

/**
 * Median lifecycle (ms, sequential) of each step from plain spawn to the full supervised job, one
 * job of each variant in turn so that all see the same host; the CPU time this process spends per
 * lifecycle; and, for the full variant, the median time of each store and cgroup call.
 */
async function breakdown(rig: Rig): Promise<{ figures: Figure[]; notes: string[] }> {
  const cgroups = rig.cgroups;
  if (!cgroups) return { figures: [], notes: [] };
  const plain = openRig({ withCgroups: false });
  // A job cgroup made once and joined by every run of the "joins" variant (it is empty between runs).
  const fixed = cgroups.createJob('job-breakdown', LIMITS, rig.dir);
  for (const m of ['insert', 'markStarted', 'markFinished', 'get'] as const) timeCalls(rig.store.jobs, m, `store jobs.${m}`);
  timeCalls(cgroups, 'createJob', 'cgroup createJob (mkdir + limits)', (cg) => {
    if (!cg) return;
    for (const m of ['killAll', 'stats', 'remove'] as const) timeCalls(cg as JobCgroup, m, `cgroup ${m}`);
  });
  const spawner = new Spawner(spawnerFile());
  try {
    const opts: SpawnOptions = { cwd: rig.dir, env: JOB_ENV, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true };
    const viaSpawner = (procsFiles: string[]) => async () => {
      const p = spawner.spawn({ argv: [COMMAND], cwd: rig.dir, env: JOB_ENV, procsFiles });
      const pipes = (await p.pipes) ?? [];
      for (const s of pipes) s.resume();
      const [started, exit] = await Promise.all([p.started, p.exit, ...pipes.map((s) => new Promise((resolve) => s.once('close', resolve)))]);
      if (started.error || exit.code !== 0) throw new Error(`spawner: ${started.error ?? `exit ${exit.code}`}`);
    };
    const full = 'supervisor, cgroups, memory+pids limits';
    const variants: Array<[string, () => Promise<void>]> = [
      ['plain spawn (2 pipes)', () => plainSpawn(rig.dir)],
      ['spawn detached, 3 pipes (as JobProcess)', () => spawnClosed(COMMAND, [], opts)],
      ['jobctl-spawner, no cgroup', viaSpawner([])],
      [`jobctl-spawner joining ${fixed?.procsFiles.length ?? 0} existing cgroups`, viaSpawner(fixed?.procsFiles ?? [])],
      ['supervisor, no cgroups (process group)', () => supervised(plain, {})],
      ['supervisor, cgroups, no limits', () => supervised(rig, {})],
      [full, () => supervised(rig)],
    ];
    const samples = variants.map((): number[] => []);
    const cpu = variants.map((): number[] => []);
    const n = quick ? 60 : 200;
    progress(`breakdown: ${n} lifecycles of each of ${variants.length} variants`);
    for (let i = 0; i < n + 10; i++) {
      for (const [v, [name, run]] of variants.entries()) {
        recording = i >= 10 && name === full;
        const c0 = process.cpuUsage();
        const t0 = nowMs();
        await run();
        const ms = nowMs() - t0;
        const c = process.cpuUsage(c0);
        recording = false;
        if (i >= 10) {
          samples[v]?.push(ms);
          cpu[v]?.push((c.user + c.system) / 1000);
        }
      }
    }
    const base = median(samples[0] ?? []);
    const figures = variants.map(([name], v) =>
      figure({
        bench: 'start-rate',
        name: `breakdown: ${name}`,
        value: median(samples[v] ?? []),
        unit: 'ms',
        baseline: { name: 'plain spawn', value: base },
        note: `p90 ${fmt(percentile(samples[v] ?? [], 90))} ms; CPU of this process per lifecycle ${fmt(median(cpu[v] ?? []))} ms`,
      }),
    );
    const stepText = [...steps].map(([label, xs]) => `${label} ${fmt(median(xs))} ms`).join(', ');
    return { figures, notes: [`calls during "${full}" (median per call): ${stepText}`] };
  } finally {
    await spawner.close();
    await fixed?.remove();
    await plain.close();
  }
}

await main();
