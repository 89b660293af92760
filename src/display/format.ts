// Display text shared by the CLI and the TUI: aligned tables, status texts, durations, safe rendering.
// Colour only on a TTY and never with NO_COLOR. Everything shown is made safe for a terminal first
// (no escape sequences from job names, commands or owners).
import type { JobInfo } from '../rpc/model.ts';

/** Whether to colour output written to stream. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && !('NO_COLOR' in process.env) && process.env.TERM !== 'dumb';
}

/** ANSI colours that collapse to plain text when disabled. */
export function palette(enabled: boolean): Record<'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan', (s: string) => string> {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22), cyan: wrap(36, 39) };
}

/** Replaces control characters (incl. ESC) with visible escapes so user text cannot drive the terminal. */
export function safeText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** text cut to at most max characters, ending in "…" when cut (table cells; `status` shows the whole). */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** A command line for display: arguments that need it are quoted. */
export function displayCommand(argv: readonly string[]): string {
  return safeText(argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '));
}

/** The status text of DESIGN.md: "running", "exited (code 0)", "stopped (signal SIGTERM)", … */
export function statusText(job: Pick<JobInfo, 'state' | 'exitCode' | 'signal' | 'reason' | 'oomKilled'>): string {
  let text: string;
  switch (job.state) {
    case 'running':
      text = 'running';
      break;
    case 'exited':
    case 'stopped':
      text = job.signal !== null ? `${job.state} (signal ${job.signal})` : `${job.state} (code ${job.exitCode ?? '?'})`;
      break;
    case 'failed':
      text = `failed (${job.reason ?? 'unknown reason'})`;
      break;
    case 'lost':
      text = 'lost (daemon restarted)';
      break;
  }
  return job.oomKilled ? `${text}, out of memory` : text;
}

/** "1.2s", "3m04s", "2h05m", "3d04h". */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** How long the job has run (until now while running). */
export function runtimeMs(job: Pick<JobInfo, 'startedAt' | 'endedAt'>, now = Date.now()): number | null {
  if (!job.startedAt) return null;
  const end = job.endedAt ? Date.parse(job.endedAt) : now;
  return end - Date.parse(job.startedAt);
}

/** Aligns rows into columns under a header; the last column is not padded. */
export function table(header: string[], rows: string[][], style?: { header?: (s: string) => string }): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visibleLength(c))))
      .join('  ')
      .trimEnd();
  const head = line(header);
  return [style?.header ? style.header(head) : head, ...rows.map(line)].join('\n') + '\n';
}

const ANSI = /\u001b\[[0-9;]*m/g;

function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}
