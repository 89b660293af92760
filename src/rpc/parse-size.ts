// Human-written sizes, durations and CPU amounts (CLI flags and config) and the matching output.
// Parsers check format only; whether a value is in range is the method table's job, so the same
// bounds hold for every client.
import { invalidArgument } from './errors.ts';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** What parseBytes accepts, for messages and --help. */
export const BYTES_FORMAT = 'a size like 1024, 512k, 256M, 1.5G or 2TiB (K/M/G/T/P are powers of 1024)';

/**
 * "256M" → 268435456. Suffixes K, M, G, T, P are binary multiples (as cgroup limits and `free -h`
 * use them), case-insensitive, optionally followed by B or iB; a bare number is bytes. Fractions are
 * allowed with a unit and rounded to a whole byte.
 */
export function parseBytes(text: string, field = 'size'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtp])(i?b)?|(b))?\s*$/i.exec(text);
  if (!m) throw invalidArgument(field, text, BYTES_FORMAT);
  const unit = (m[2] ?? '').toLowerCase();
  const value = Number(m[1]) * (UNITS[unit] ?? 1);
  if (unit === '' && !Number.isInteger(Number(m[1]))) throw invalidArgument(field, text, `a whole number of bytes, or ${BYTES_FORMAT}`);
  const bytes = Math.round(value);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(field, text, `at most ${Number.MAX_SAFE_INTEGER} bytes`);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** What parseDuration accepts. */
export const DURATION_FORMAT = 'a duration like 500ms, 10s, 2m, 1h or 10 (seconds)';

/** "10s" → 10000 (milliseconds). Units ms, s, m, h; a bare number is seconds; fractions are rounded to a ms. */
export function parseDuration(text: string, field = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw invalidArgument(field, text, DURATION_FORMAT);
  const ms = Math.round(Number(m[1]) * (DURATION_UNITS[(m[2] ?? 's').toLowerCase()] ?? 1000));
  if (!Number.isSafeInteger(ms)) throw invalidArgument(field, text, `${DURATION_FORMAT}, not that long`);
  return ms;
}

/** What parseCpu accepts. */
export const CPU_FORMAT = 'a number of CPU cores like 0.5, 2 or 1.25';

/** "0.5" → 0.5 cores. A plain decimal number (no exponent, no sign). */
export function parseCpu(text: string, field = 'cpu'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*$/.exec(text);
  if (!m) throw invalidArgument(field, text, CPU_FORMAT);
  return Number(m[1]);
}

const INPUT_UNITS = ['P', 'T', 'G', 'M', 'K'] as const;

/**
 * 1048576 → "1MiB", 1000 → "1000B": exactly n, in the largest unit that divides it, spelled so that
 * parseBytes reads it back (for ranges and caps in messages about what a person typed).
 */
export function formatSizeInput(n: number): string {
  for (const unit of INPUT_UNITS) {
    const size = UNITS[unit.toLowerCase()] as number;
    if (n !== 0 && n % size === 0) return `${n / size}${unit}iB`;
  }
  return `${n}B`;
}

/** 3600000 → "1h", 1500 → "1500ms", 0 → "0s": exactly ms, spelled so that parseDuration reads it back. */
export function formatDurationInput(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit] as number;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 268435456 → "256 MiB", 1536 → "1.5 KiB", 512 → "512 B": the largest unit ≥ 1, at most one decimal. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  let value = Math.abs(n);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // Round first, then re-check: 1023.96 KiB must print as "1 MiB", not "1024 KiB".
  let rounded = Math.round(value * 10) / 10;
  if (rounded >= 1024 && unit < BYTE_UNITS.length - 1) {
    rounded = Math.round((rounded / 1024) * 10) / 10;
    unit++;
  }
  const digits = unit === 0 ? String(Math.round(value)) : String(rounded);
  return `${sign}${digits} ${BYTE_UNITS[unit]}`;
}
