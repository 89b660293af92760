// Write-to-follower latency: a real job (node -e) writes a line every 20 ms stamped with
// performance.timeOrigin + performance.now() (a clock both processes share), and the receiver stamps
// each line on arrival the same way. Three paths, measured in the same run:
//   - baseline: the same writer under a plain child_process.spawn, read straight from its pipe;
//   - supervisor: the job through Supervisor (pipe → LogWriter → SQLite commit) and a follower
//     iterating store.logs.follow() in the same process;
//   - daemon + CLI: `jobctl run` on a real daemon, read by `jobctl logs -f ID` (pipe → SQLite →
//     follower → TLS WebSocket → CLI → its stdout pipe).
//   node build/bench/follow-latency.js [--quick] [--no-daemon] [--out FILE]
import { spawn } from 'node:child_process';
import { figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { startDaemon } from './lib/daemon.ts';
import { JOB_ENV, openRig } from './lib/rig.ts';
import { fmt, percentile } from './lib/stats.ts';

const INTERVAL_MS = 20;

/** The writer: N lines "i stamp\n", one every 20 ms, stamped just before the write. */
const WRITER = [
  'const n = Number(process.argv[1]);',
  'let i = 0;',
  'const tick = () => {',
  '  process.stdout.write(`${i} ${(performance.timeOrigin + performance.now()).toFixed(3)}\\n`);',
  `  if (++i < n) setTimeout(tick, ${INTERVAL_MS});`,
  '};',
  `setTimeout(tick, ${INTERVAL_MS});`,
].join('\n');

function writerArgv(lines: number): string[] {
  return [process.execPath, '-e', WRITER, String(lines)];
}

/** The shared clock, in epoch ms with µs resolution. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** Turns arriving bytes into per-line latencies (arrival − stamp); keeps a partial line for the next call. */
class LineClock {
  private carry = '';
  readonly latencies: number[] = [];
  /** Lines stamped before this are not counted (written before the receiver was live). */
  notBefore = 0;

  feed(data: Buffer, arrived: number): void {
    const text = this.carry + data.toString('latin1');
    const lines = text.split('\n');
    this.carry = lines.pop() as string;
    for (const line of lines) {
      const stamp = Number(line.split(' ')[1]);
      if (!Number.isFinite(stamp)) throw new Error(`unexpected line ${JSON.stringify(line)}`);
      if (stamp >= this.notBefore) this.latencies.push(arrived - stamp);
    }
  }
}

/** Baseline: the writer's own pipe. */
function viaPipe(lines: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const lc = new LineClock();
    const [file, ...args] = writerArgv(lines) as [string, ...string[]];
    const child = spawn(file, args, { env: JOB_ENV, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (d: Buffer) => lc.feed(d, clock()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(lc.latencies) : reject(new Error(`writer exited with ${code}`))));
  });
}

/** Supervisor: a job and an in-process follower. */
async function viaSupervisor(lines: number): Promise<number[]> {
  const rig = openRig();
  try {
    const lc = new LineClock();
    const job = await rig.supervisor.start(rig.spec(writerArgv(lines)), 'bench');
    for await (const item of rig.store.logs.follow(job.id)) {
      const arrived = clock();
      if (item.kind === 'chunk' && item.chunk.stream === 1) lc.feed(item.chunk.data, arrived);
      else if (item.kind === 'chunk') process.stderr.write(item.chunk.data);
    }
    const done = await rig.supervisor.wait(job.id);
    if (done.state !== 'exited' || done.exitCode !== 0) throw new Error(`writer job ended ${done.state} (${done.exitCode ?? done.reason})`);
    return lc.latencies;
  } finally {
    await rig.close();
  }
}

/** Daemon + CLI: `jobctl run` then `jobctl logs -f`; lines written before the follower was live are not counted. */
async function viaDaemon(lines: number): Promise<number[]> {
  const daemon = await startDaemon();
  try {
    const run = await daemon.cli(['run', '--', ...writerArgv(lines)]);
    const id = run.stdout.trim();
    return await new Promise<number[]>((resolve, reject) => {
      const lc = new LineClock();
      lc.notBefore = Number.POSITIVE_INFINITY;
      const child = spawn(process.execPath, daemon.args(['logs', '-f', id]), { env: daemon.env, stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (d: Buffer) => {
        const arrived = clock();
        // The first bytes may be a replay of what was written while the CLI started: only lines
        // written after something arrived are live.
        if (lc.notBefore === Number.POSITIVE_INFINITY) lc.notBefore = arrived;
        lc.feed(d, arrived);
      });
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(lc.latencies) : reject(new Error(`jobctl logs -f exited with ${code}`))));
    });
  } finally {
    await daemon.stop();
  }
}

async function main(): Promise<void> {
  const quick = isQuick();
  const rounds = quick ? 1 : 3;
  const lines = quick ? 100 : 250;
  const pipe: number[] = [];
  const sup: number[] = [];
  for (let r = 0; r < rounds; r++) {
    progress(`follow latency round ${r + 1}/${rounds}: ${lines} lines every ${INTERVAL_MS} ms, plain pipe then supervisor`);
    pipe.push(...(await viaPipe(lines)));
    sup.push(...(await viaSupervisor(lines)));
  }
  const figures: Figure[] = [];
  const add = (name: string, samples: number[], p: 50 | 99, limit: number): void => {
    figures.push(
      figure({
        bench: 'follow-latency',
        name: `${name} p${p}`,
        value: percentile(samples, p),
        unit: 'ms',
        baseline: { name: 'plain pipe', value: percentile(pipe, p) },
        target: { on: 'value', op: '<', limit },
        note: `${samples.length} lines; max ${fmt(Math.max(...samples))} ms`,
      }),
    );
  };
  add('job → follower (supervisor)', sup, 50, 5);
  add('job → follower (supervisor)', sup, 99, 20);
  if (!process.argv.includes('--no-daemon')) {
    progress(`follow latency through a daemon and jobctl logs -f: ${lines * rounds} lines`);
    const cli = await viaDaemon(lines * rounds);
    add('job → `jobctl logs -f` (daemon + CLI)', cli, 50, 5);
    add('job → `jobctl logs -f` (daemon + CLI)', cli, 99, 20);
  }
  report('follow-latency', figures, [
    `a job writes a line every ${INTERVAL_MS} ms; latency = arrival − stamp, both from performance.timeOrigin + performance.now()`,
    `plain pipe: ${pipe.length} lines, p50 ${fmt(percentile(pipe, 50))} ms, p99 ${fmt(percentile(pipe, 99))} ms, max ${fmt(Math.max(...pipe))} ms`,
    ...figures.filter((f) => f.note).map((f) => `${f.name}: ${f.note}`),
  ]);
}

await main();
