// The one table of the comparison: a row per figure, a column per tool, the physical limit where there
// is one, the ratios measured in the same run, the target and whether it was met.
import { fmt } from './lib.ts';

/** The columns that hold measured values. */
export const COLUMNS = ['jobctl', 'tsp', 'nq', 'pm2', 'limit'] as const;
export type Column = (typeof COLUMNS)[number];

/** One figure for every tool that can do it. */
export interface Row {
  scenario: string;
  figure: string;
  unit: string;
  /** A number (median unless the figure says otherwise) or a short text ("n/a: …"). */
  values: Partial<Record<Column, number | string>>;
  /** What the limit column holds for this row (e.g. "> file"). */
  limitName?: string;
  /** Ratios of medians from the same run, as text ("0.48× of > file"). */
  ratio?: string;
  target?: string;
  pass?: boolean;
  /** Why a figure is what it is (a physical reason for a miss), printed under the table. */
  note?: string;
}

/** Formats a value cell. */
function cell(v: number | string | undefined, unit: string): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return `${fmt(v)}${unit ? ` ${unit}` : ''}`;
}

/** "a / b" as "N×" (NaN-safe). */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '?';
  return `${fmt(a / b, 2)}×`;
}

/** The table as aligned plain text (also valid as a Markdown table when markdown is true). */
export function renderTable(rows: readonly Row[], markdown: boolean): string {
  const headers = ['scenario', 'figure', 'jobctl', 'tsp', 'nq', 'pm2', 'physical limit', 'ratio (same run)', 'target', 'result'];
  const body = rows.map((r) => [
    r.scenario,
    r.figure,
    ...COLUMNS.slice(0, 4).map((c) => cell(r.values[c], r.unit)),
    r.values.limit === undefined ? '' : `${cell(r.values.limit, r.unit)}${r.limitName ? ` (${r.limitName})` : ''}`,
    r.ratio ?? '',
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'pass' : 'MISS',
  ]);
  if (markdown) {
    const esc = (s: string): string => s.replace(/\|/g, '\\|');
    return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...body.map((b) => `| ${b.map(esc).join(' | ')} |`)].join('\n');
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The notes of the rows that have one, numbered by row. */
export function renderNotes(rows: readonly Row[]): string[] {
  return rows.filter((r) => r.note).map((r) => `${r.scenario} / ${r.figure}: ${r.note}`);
}
