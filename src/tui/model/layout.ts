// How the terminal's rows and columns are shared out. Pure, so every size can be checked in tests.
//
// One row is left unused: when Ink's output reaches the terminal's height it clears the whole
// screen on every frame (flicker); one row short, it rewrites only what changed.

/** Smallest terminal the UI draws in (the target is 80×24 and up). */
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 16;

/** Rows of the main screen's parts. */
export interface ListLayout {
  header: number;
  /** Job rows (the table's column header is one more). */
  tableRows: number;
  /** Detail lines of the selected job (under the pane's title). */
  details: number;
  logRows: number;
  footer: number;
}

/** Rows of the full-screen log's parts. */
export interface LogLayout {
  logRows: number;
}

/** True when the terminal is too small to draw in. */
export function tooSmall(columns: number, rows: number): boolean {
  return columns < MIN_COLUMNS || rows < MIN_ROWS;
}

/** The main screen's split for a terminal of `rows` rows. */
export function listLayout(rows: number): ListLayout {
  const usable = rows - 1;
  const header = 2;
  const footer = 1;
  const details = 3;
  // header + table header + table rows + pane title + details + log + footer
  const flexible = Math.max(2, usable - header - 1 - 1 - details - footer);
  const tableRows = Math.max(3, Math.floor(flexible * 0.45));
  return { header, tableRows, details, logRows: Math.max(1, flexible - tableRows), footer };
}

/** The full-screen log's split. */
export function logLayout(rows: number): LogLayout {
  // title + log + footer
  return { logRows: Math.max(1, rows - 1 - 2) };
}

/** Widths of the job table's columns; `name` takes what is left. */
export interface TableColumns {
  marker: number;
  id: number;
  name: number;
  owner: number;
  state: number;
  cpu: number;
  memory: number;
  runtime: number;
  result: number;
  /** CPU history, 0 when the terminal is too narrow for it. */
  trend: number;
}

/** Columns for a table `columns` wide (one space between columns). */
export function tableColumns(columns: number): TableColumns {
  const narrow = columns < 100;
  const fixed: Omit<TableColumns, 'name'> = {
    marker: 1,
    id: 5,
    owner: narrow ? 6 : 8,
    state: 7,
    cpu: 5,
    memory: narrow ? 14 : 18,
    runtime: 7,
    result: narrow ? 9 : 12,
    trend: columns >= 120 ? 12 : 0,
  };
  const count = fixed.trend > 0 ? 10 : 9;
  const used = Object.values(fixed).reduce((a, b) => a + b, 0) + (count - 1);
  return { ...fixed, name: Math.max(8, columns - used) };
}

/** First row to show of `count` so that row `selected` is visible in `rows` rows. */
export function scrollOffset(selected: number, count: number, rows: number): number {
  if (count <= rows || selected < 0) return 0;
  return Math.max(0, Math.min(selected - Math.floor(rows / 2), count - rows));
}
