// `jobctl top` following a job that floods output: the TUI process's CPU and memory, and how fast it
// answers a key meanwhile. tmux runs the real bin/jobctl against a real daemon at 100×30; the TUI's
// utime+stime and VmRSS are sampled from /proc every 500 ms. Measured in the same run:
//   - baseline: the same TUI, same screen, following a job that writes a line a second;
//   - flood: following `yes` (80-byte lines, as fast as the daemon takes them);
//   - flood without newlines: following `head -c 10G /dev/zero` (one endless line).
// Key latency: '?' (help) sent with tmux send-keys, the screen polled until the help shows; the same
// method typing into `cat` in another pane, right after and under the same load, is its baseline.
//   node build/bench/tui.js [--quick] [--out FILE]
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JOBCTL, startDaemon, type BenchDaemon } from './lib/daemon.ts';
import { tempDir } from './lib/rig.ts';
import { figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { fmt, median, nowMs, percentile, sleep } from './lib/stats.ts';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const KEY_ROUNDS = 15;
const LINE = 'flood: the quick brown fox jumps over the lazy dog, again and again and again ....';

// Preloaded into the TUI (NODE_OPTIONS=--require): notes when a key arrives on stdin and when the
// next frame is written, so key latency is also measured inside the process, without tmux.
const KEY_PROBE = `
const fs = require('node:fs');
const file = process.env.JOBCTL_BENCH_KEYLOG;
let keyAt = null;
const emit = process.stdin.emit.bind(process.stdin);
process.stdin.emit = (event, ...args) => {
  if (event === 'readable' && keyAt === null) keyAt = performance.now();
  return emit(event, ...args);
};
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (data, ...args) => {
  if (keyAt !== null) {
    fs.appendFileSync(file, (performance.now() - keyAt).toFixed(2) + '\\n');
    keyAt = null;
  }
  return write(data, ...args);
};
`;

/** One tmux server of our own with `command` as the pane's process. */
function startPane(command: string[], name = 'top') {
  const socket = `jobctl-bench-tui-${process.pid}-${name}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'top', '-x', '100', '-y', '30', ...command);
  return {
    tmux,
    screen: () => tmux('capture-pane', '-p', '-t', 'top'),
    keys: (...keys: string[]) => void tmux('send-keys', '-t', 'top', ...keys),
    kill: () => void spawnSync('tmux', ['-L', socket, 'kill-server']),
  };
}

/** `jobctl top` in a pane of its own; keyLog receives in-process key-to-frame times (ms, one a line). */
function startTop(daemon: BenchDaemon, probe: string, keyLog: string) {
  const pane = startPane(['env', 'JOBCTL_NO_AUTOSTART=1', `NODE_OPTIONS=--require ${probe}`, `JOBCTL_BENCH_KEYLOG=${keyLog}`, process.execPath, JOBCTL, '--home', daemon.home, 'top']);
  const tmux = pane.tmux;
  const panePid = Number(tmux('display-message', '-p', '-t', 'top', '#{pane_pid}').trim());
  return { ...pane, pid: topPid(panePid) };
}

/** What the key-latency method costs by itself: a key typed into `cat` in the same kind of pane. */
async function measureEcho(rounds: number): Promise<number[]> {
  const pane = startPane(['cat'], 'echo');
  const ms: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const k0 = nowMs();
      pane.keys(`k${i}`);
      await until('the echo', () => pane.screen().includes(`k${i}`), 5000);
      ms.push(nowMs() - k0);
    }
  } finally {
    pane.kill();
  }
  return ms;
}

// The pane's process is `env`, which execs node: the same pid; look at children just in case.
function topPid(panePid: number): number {
  const cmd = readFileSync(`/proc/${panePid}/cmdline`, 'utf8');
  if (cmd.includes(JOBCTL)) return panePid;
  const children = readFileSync(`/proc/${panePid}/task/${panePid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  const child = children.find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes(JOBCTL));
  if (!child) throw new Error(`no jobctl top under pane process ${panePid}`);
  return child;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Sample {
  cpuPercent: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  rssGrowthMiB: number;
  keyMs: number[];
  /** Key arrival on stdin to the next frame written, inside the TUI. */
  inProcessMs: number[];
  /** The same key method into `cat`, meanwhile (the machine as loaded by the job and its daemon). */
  echoMs: number[];
  jobMiBps: number;
}

/** Bytes the job has written so far (stored + dropped by the cap). */
async function jobBytes(daemon: BenchDaemon, id: string): Promise<number> {
  const job = JSON.parse((await daemon.cli(['status', id, '--json'])).stdout) as { log: { storedBytes: number; droppedBytes: number } };
  return job.log.storedBytes + job.log.droppedBytes;
}

/** Runs top following the job `argv`, samples it for seconds, and measures key latency. */
async function measure(daemon: BenchDaemon, name: string, argv: string[], seconds: number): Promise<Sample> {
  const id = (await daemon.cli(['run', '--name', name, '--', ...argv])).stdout.trim();
  const dir = tempDir('jobctl-bench-tui-');
  const probe = join(dir, 'key-probe.cjs');
  const keyLog = join(dir, `keys-${name}.log`);
  writeFileSync(probe, KEY_PROBE);
  writeFileSync(keyLog, '');
  const top = startTop(daemon, probe, keyLog);
  try {
    await until('the TUI to show the job', () => top.screen().includes(name));
    top.keys('Enter'); // follow it full-screen: the most rows of output to draw
    await until('the full-screen log', () => top.screen().includes(`job ${id} · ${name}`));
    await sleep(3000); // warm up: the JIT, the first backlog
    const bytes0 = await jobBytes(daemon, id);
    const t0 = nowMs();
    const ticks0 = cpuTicks(top.pid);
    const rss: number[] = [];
    while (nowMs() - t0 < seconds * 1000) {
      rss.push(rssMiB(top.pid));
      await sleep(500);
    }
    const ticks1 = cpuTicks(top.pid);
    const elapsed = (nowMs() - t0) / 1000;
    const bytes1 = await jobBytes(daemon, id);
    // Key latency: '?' opens the help; Escape closes it.
    const keyMs: number[] = [];
    for (let i = 0; i < KEY_ROUNDS; i++) {
      const k0 = nowMs();
      top.keys('?');
      await until('the help', () => top.screen().includes('PgUp PgDn Home'), 5000);
      keyMs.push(nowMs() - k0);
      top.keys('Escape');
      await until('the log again', () => !top.screen().includes('PgUp PgDn Home'), 5000);
      await sleep(100);
    }
    const echoMs = await measureEcho(KEY_ROUNDS);
    // Keys sent before the sampled ones (Enter) are in the log too: keep the last 2 × rounds (? and Escape).
    const inProcessMs = readFileSync(keyLog, 'utf8').trim().split('\n').map(Number).slice(-2 * KEY_ROUNDS);
    return {
      cpuPercent: ((ticks1 - ticks0) / CLK_TCK / elapsed) * 100,
      rssMaxMiB: Math.max(...rss),
      rssEndMiB: rss.at(-1) ?? NaN,
      rssGrowthMiB: (rss.at(-1) ?? NaN) - (rss[0] ?? NaN),
      keyMs,
      inProcessMs,
      echoMs,
      jobMiBps: (bytes1 - bytes0) / 1024 / 1024 / elapsed,
    };
  } finally {
    top.kill();
    await daemon.cli(['stop', '--grace', '1s', id]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seconds = isQuick() ? 5 : 10;
  const daemon = await startDaemon();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    progress(`baseline: top following a job that writes a line a second (${seconds} s)`);
    const idle = await measure(daemon, 'slow', ['sh', '-c', 'while :; do date; sleep 1; done'], seconds);
    progress(`flood: top following yes (${seconds} s)`);
    const flood = await measure(daemon, 'flood', ['yes', LINE], seconds);
    progress(`flood without newlines: top following head -c 10G /dev/zero (${seconds} s)`);
    const zeros = await measure(daemon, 'zeros', ['head', '-c', '10G', '/dev/zero'], seconds);
    const base = (value: number) => ({ name: 'slow job', value });
    for (const [label, s] of [
      ['flood', flood],
      ['no-newline flood', zeros],
    ] as const) {
      figures.push(
        figure({ bench: 'tui', name: `TUI CPU, ${label}`, value: s.cpuPercent, unit: '% of a core', baseline: base(idle.cpuPercent), target: { on: 'value', op: '<', limit: 30 } }),
        figure({ bench: 'tui', name: `TUI RSS max, ${label}`, value: s.rssMaxMiB, unit: 'MiB', baseline: base(idle.rssMaxMiB), target: { on: 'value', op: '<', limit: 250 } }),
        figure({ bench: 'tui', name: `TUI RSS end − start of ${seconds} s, ${label}`, value: s.rssGrowthMiB, unit: 'MiB', note: 'GC sawtooth, not a trend' }),
        figure({
          bench: 'tui',
          name: `key to frame written (in the TUI), ${label}, p90`,
          value: percentile(s.inProcessMs, 90),
          unit: 'ms',
          baseline: { name: 'slow job', value: percentile(idle.inProcessMs, 90) },
          target: { on: 'value', op: '<', limit: 100 },
          note: `p50 ${fmt(median(s.inProcessMs))} ms, max ${fmt(Math.max(...s.inProcessMs))} ms`,
        }),
        figure({
          bench: 'tui',
          name: `key to screen, ${label}, p50`,
          value: median(s.keyMs),
          unit: 'ms',
          baseline: { name: 'same keys to cat meanwhile', value: median(s.echoMs) },
          note: `max ${fmt(Math.max(...s.keyMs))} ms`,
        }),
        figure({
          bench: 'tui',
          name: `key to screen, ${label}, p90`,
          value: percentile(s.keyMs, 90),
          unit: 'ms',
          baseline: { name: 'same keys to cat meanwhile', value: percentile(s.echoMs, 90) },
        }),
        figure({ bench: 'tui', name: `job output rate while followed, ${label}`, value: s.jobMiBps, unit: 'MiB/s' }),
      );
    }
    notes.push(
      `CPU from /proc/PID/stat utime+stime over ${seconds} s after a 3 s warm-up; RSS sampled every 500 ms; key to frame written: from the key's arrival on the TUI's stdin to its next write to the terminal (a preloaded probe); key to screen: tmux send-keys until capture-pane shows it (polled every 5 ms), against the same method typing into cat right after, under the same load.`,
      'The job output rate is what the daemon stored (and dropped past its cap) per second while the TUI followed: the flood is as fast as this machine\u2019s daemon ingests.',
      `baseline (slow job): CPU ${fmt(idle.cpuPercent)} %, RSS max ${fmt(idle.rssMaxMiB)} MiB, key p50 ${fmt(median(idle.keyMs))} ms (to cat meanwhile: ${fmt(median(idle.echoMs))} ms).`,
    );
  } finally {
    await daemon.stop();
  }
  report('tui', figures, notes);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
