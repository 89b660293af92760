// Tiny bar charts in one text row.

const BARS = '▁▂▃▄▅▆▇█';

/** The last `width` values as bars scaled to max (default: the largest value shown); '' when empty. */
export function sparkline(values: readonly number[], width: number, max?: number): string {
  const shown = values.slice(-Math.max(0, width));
  if (shown.length === 0) return '';
  const top = max ?? Math.max(...shown);
  return shown
    .map((v) => {
      if (!(top > 0) || !(v > 0)) return BARS[0];
      const level = Math.min(BARS.length - 1, Math.round((v / top) * (BARS.length - 1)));
      return BARS[level];
    })
    .join('');
}
