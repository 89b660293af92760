// Runs every benchmark, each in a process of its own (so one's memory, JIT state and leftovers never
// colour another's figures), and prints one summary table.
//   npm run bench                      full run (≈ 5–10 min)
//   npm run bench -- --quick           short run: fewer rounds, 256 MiB ingest
//   npm run bench -- --only ingest,cli some of them
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argValue, figureRows, isQuick, table, type Figure } from './lib/report.ts';

const BENCHES = ['start-rate', 'ingest', 'follow-latency', 'cli'];

/** Runs build/bench/NAME.js; resolves with its figures (rejects when it fails). */
function runBench(name: string, quick: boolean, outFile: string): Promise<Figure[]> {
  const script = join(dirname(fileURLToPath(import.meta.url)), `${name}.js`);
  const args = ['--enable-source-maps', script, ...(quick ? ['--quick'] : []), '--out', outFile];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${name} failed (${code ?? signal})`));
      resolve((JSON.parse(readFileSync(outFile, 'utf8')) as { figures: Figure[] }).figures);
    });
  });
}

async function main(): Promise<number> {
  const quick = isQuick();
  const only = argValue('--only')?.split(',');
  const names = only ? BENCHES.filter((n) => only.includes(n)) : BENCHES;
  if (only && names.length !== only.length) {
    process.stderr.write(`unknown benchmark in --only ${only.join(',')}; known: ${BENCHES.join(', ')}\n`);
    return 2;
  }
  const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
  const header = `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Linux ${release()}, Node ${process.version}; load average at start ${load()}`;
  process.stdout.write(`${header}\n${quick ? 'quick run: indicative only\n' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-bench-run-'));
  const figures: Figure[] = [];
  const failed: string[] = [];
  try {
    for (const name of names) {
      const t0 = Date.now();
      try {
        figures.push(...(await runBench(name, quick, join(dir, `${name}.json`))));
      } catch (err) {
        failed.push(name);
        process.stderr.write(`${(err as Error).message}\n`);
      }
      process.stdout.write(`  (${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s; load average now ${load()})\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n== summary${quick ? ' (quick)' : ''} ==\n${header}; at end ${load()}\n`);
  process.stdout.write(`${table(['bench', 'figure', 'value', 'baseline (same run)', 'ratio', 'target', 'result'], figureRows(figures, true))}\n`);
  const targets = figures.filter((f) => f.pass !== undefined);
  process.stdout.write(`${targets.filter((f) => f.pass).length}/${targets.length} targets met${failed.length ? `; FAILED to run: ${failed.join(', ')}` : ''}\n`);
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
