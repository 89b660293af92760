// CLI wall time against a warm daemon holding ~50 jobs: `jobctl ps` and `jobctl status ID` as a ratio
// to `node -e 0` (the floor of any Node CLI) measured in the same run, interleaved; and the wall time
// of `jobctl run -- true` (submit → job running → id printed). `jobctl --version` (no daemon
// contact) is measured too, to split a command's time between loading the CLI and talking to the daemon.
//   node build/bench/cli.js [--quick] [--out FILE]
import { figure, isQuick, progress, report, type Figure } from './lib/report.ts';
import { startDaemon, timed } from './lib/daemon.ts';
import { fmt, median, percentile } from './lib/stats.ts';

const JOBS = 50;

async function main(): Promise<void> {
  const quick = isQuick();
  const runs = quick ? 7 : 21;
  const daemon = await startDaemon();
  const figures: Figure[] = [];
  try {
    // Fill the daemon: the first `runs` submissions are timed one at a time, the rest go 4 at a time.
    progress(`jobctl run -- true × ${runs} (timed), then up to ${JOBS} jobs`);
    const runMs: number[] = [];
    let lastId = '';
    for (let i = 0; i < runs; i++) {
      const r = await daemon.cli(['run', '--', 'true']);
      runMs.push(r.ms);
      lastId = r.stdout.trim();
    }
    for (let i = runs; i < JOBS; i += 4) {
      await Promise.all(Array.from({ length: Math.min(4, JOBS - i) }, () => daemon.cli(['run', '--', 'true'])));
    }
    if (!/^\d+$/.test(lastId)) throw new Error(`jobctl run printed ${JSON.stringify(lastId)}, not a job id`);
    const ps = await daemon.cli(['ps']);
    const listed = ps.stdout.trim().split('\n').length - 1;

    // Warm-up (page cache of node, the bundle and node_modules), then interleaved rounds.
    const nodeArgs = ['-e', '0'];
    for (let i = 0; i < 2; i++) {
      await timed(process.execPath, nodeArgs);
      await daemon.cli(['ps']);
      await daemon.cli(['status', lastId]);
    }
    const base: number[] = [];
    const psMs: number[] = [];
    const statusMs: number[] = [];
    const versionMs: number[] = [];
    progress(`node -e 0, jobctl ps, jobctl status ${lastId}, jobctl --version: ${runs} rounds, interleaved`);
    for (let i = 0; i < runs; i++) {
      const b = await timed(process.execPath, nodeArgs);
      if (b.code !== 0) throw new Error(`node -e 0 exited with ${b.code}`);
      base.push(b.ms);
      psMs.push((await daemon.cli(['ps'])).ms);
      statusMs.push((await daemon.cli(['status', lastId])).ms);
      versionMs.push((await daemon.cli(['--version'])).ms);
    }
    const baseline = { name: 'node -e 0', value: median(base) };
    const spread = (xs: number[]): string => `median of ${xs.length}; p10 ${fmt(percentile(xs, 10))} ms, p90 ${fmt(percentile(xs, 90))} ms`;
    figures.push(
      figure({ bench: 'cli', name: `jobctl ps (${listed} jobs listed)`, value: median(psMs), unit: 'ms', baseline, target: { on: 'ratio', op: '<=', limit: 1.6 }, note: spread(psMs) }),
      figure({ bench: 'cli', name: 'jobctl status ID', value: median(statusMs), unit: 'ms', baseline, target: { on: 'ratio', op: '<=', limit: 1.6 }, note: spread(statusMs) }),
      figure({ bench: 'cli', name: 'jobctl run -- true (submit → running)', value: median(runMs), unit: 'ms', baseline, note: spread(runMs) }),
      // No daemon contact: node start + loading the bundle + yargs; ps minus this is connect + TLS + call.
      figure({ bench: 'cli', name: 'breakdown: jobctl --version (no daemon contact)', value: median(versionMs), unit: 'ms', baseline, note: spread(versionMs) }),
    );
    report('cli', figures, [`node -e 0: ${spread(base)}`, ...figures.filter((f) => f.note).map((f) => `${f.name}: ${f.note}`)]);
  } finally {
    await daemon.stop();
  }
}

await main();
