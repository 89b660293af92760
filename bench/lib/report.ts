// What a benchmark reports: figures with the baseline measured in the same run, the ratio, the
// target and whether it was met; printed as a table and handed to bench/run.ts as JSON.
import { writeFileSync } from 'node:fs';
import { fmt } from './stats.ts';

/** A target: on the ratio to the baseline, or on the figure itself. */
export interface Target {
  on: 'ratio' | 'value';
  op: '>=' | '<=' | '<';
  limit: number;
}

/** One measured figure. */
export interface Figure {
  bench: string;
  /** What was measured, e.g. "sequential start rate". */
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the baseline, measured in the same run (absent when there is none). */
  baseline?: { name: string; value: number };
  /** value / baseline.value. */
  ratio?: number;
  target?: Target;
  /** Whether the target was met (absent without a target). */
  pass?: boolean;
  /** Extra context: spread, sample counts. */
  note?: string;
}

/** Builds a figure, computing the ratio and pass/miss. */
export function figure(f: Omit<Figure, 'ratio' | 'pass'>): Figure {
  const ratio = f.baseline ? f.value / f.baseline.value : undefined;
  let pass: boolean | undefined;
  if (f.target) {
    const x = f.target.on === 'ratio' ? ratio : f.value;
    if (x === undefined || !Number.isFinite(x)) pass = false;
    else if (f.target.op === '>=') pass = x >= f.target.limit;
    else if (f.target.op === '<=') pass = x <= f.target.limit;
    else pass = x < f.target.limit;
  }
  return { ...f, ratio, pass };
}

/** "ratio ≥ 0.7" / "< 5 ms". */
export function targetText(f: Figure): string {
  if (!f.target) return '';
  const op = f.target.op === '>=' ? '≥' : f.target.op === '<=' ? '≤' : '<';
  return f.target.on === 'ratio' ? `${op} ${f.target.limit}×` : `${op} ${f.target.limit} ${f.unit}`;
}

/** A plain-text table with aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The figures as table rows: bench, figure, value, baseline, ratio, target, result. */
export function figureRows(figures: readonly Figure[], withBench: boolean): string[][] {
  return figures.map((f) => [
    ...(withBench ? [f.bench] : []),
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline ? `${fmt(f.baseline.value)} ${f.unit} (${f.baseline.name})` : '',
    f.ratio !== undefined ? `${fmt(f.ratio)}×` : '',
    targetText(f),
    f.pass === undefined ? '' : f.pass ? 'pass' : 'MISS',
  ]);
}

/** Prints a benchmark's figures and, when run by bench/run.ts (`--out FILE`), writes them as JSON. */
export function report(bench: string, figures: Figure[], notes: string[] = []): void {
  process.stdout.write(`\n== ${bench} ==\n`);
  process.stdout.write(`${table(['figure', 'value', 'baseline (same run)', 'ratio', 'target', 'result'], figureRows(figures, false))}\n`);
  for (const n of notes) process.stdout.write(`  ${n}\n`);
  const out = argValue('--out');
  if (out) writeFileSync(out, JSON.stringify({ bench, figures, notes }, null, 2));
}

/** The value after a flag in process.argv (`--out FILE`), or undefined. */
export function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** True when `--quick` was passed. */
export function isQuick(): boolean {
  return process.argv.includes('--quick');
}

/** Progress on stderr (kept out of the tables on stdout). */
export function progress(message: string): void {
  process.stderr.write(`  … ${message}\n`);
}
