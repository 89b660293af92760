// Bounded numbers (limits, grace periods, page sizes, config caps): each range is stated once, with
// the way a person writes its values, so that one set of numbers gives both wordings of a refusal:
// the daemon's for raw RPC callers (the wire's units, said: bytes, ms) and the CLI's and config's
// (the syntax the user types: 512M, 10s — the syntax of parse-size.ts).
import { formatBytes, formatDurationInput, formatSizeInput } from './parse-size.ts';
import { integer, number, type Validator } from './validate.ts';

/** A bounded number: its bounds in wire units, and how people write its values. */
export interface Range {
  min: number;
  max: number;
  /** Whole numbers only. */
  integer: boolean;
  /**
   * How values are written: a size (bytes on the wire, "512M" typed), a rate (bytes/s, "10M"), a
   * duration (ms, "10s"), CPU cores ("0.5"), or a plain count.
   */
  spelling: 'size' | 'rate' | 'duration' | 'cores' | 'count';
  /** What a count counts ("processes"), said in both wordings. */
  noun?: string;
  /** Typical values as typed, for the typed wording ("512M or 2G"). */
  like?: string;
}

/** A validator that knows its range, so a client can reword its refusal in the user's units. */
export type RangeValidator = Validator<number> & { readonly range: Range };

/** The number validator of range; its messages are in wire units, and say which. */
export function ranged(range: Range): RangeValidator {
  const check = (range.integer ? integer : number)(range.min, range.max, wireUnit(range));
  return Object.assign(check, { range });
}

/** The range of a validator made by ranged(), or undefined. */
export function rangeOf(validator: Validator<unknown>): Range | undefined {
  return (validator as Partial<RangeValidator>).range;
}

/** " bytes (1 MiB to 1 PiB)": the unit after the wire bounds, with the bounds in readable form. */
function wireUnit(range: Range): string {
  switch (range.spelling) {
    case 'size':
      return ` bytes (${formatBytes(range.min)} to ${formatBytes(range.max)})`;
    case 'rate':
      return ` bytes/s (${formatBytes(range.min)}/s to ${formatBytes(range.max)}/s)`;
    case 'duration':
      return ` ms (${formatDurationInput(range.min)} to ${formatDurationInput(range.max)})`;
    case 'cores':
      return ' cores';
    case 'count':
      return range.noun ? ` ${range.noun}` : '';
  }
}

/** One value of range in wire units, said: "67108864 bytes (64 MiB)", "500 ms", "100 processes". */
export function wireAmount(range: Range, value: number): string {
  switch (range.spelling) {
    case 'size':
      return `${value} bytes (${formatBytes(value)})`;
    case 'rate':
      return `${value} bytes/s (${formatBytes(value)}/s)`;
    case 'duration':
      return `${value} ms`;
    case 'cores':
      return `${value} cores`;
    case 'count':
      return range.noun ? `${value} ${range.noun}` : String(value);
  }
}

/** One value of range as the user would type it: "64MiB", "1h", "0.5 cores", "100". */
export function typedAmount(range: Range, value: number): string {
  switch (range.spelling) {
    case 'size':
      return formatSizeInput(value);
    case 'rate':
      return `${formatSizeInput(value)} per second`;
    case 'duration':
      return formatDurationInput(value);
    case 'cores':
      return `${value} cores`;
    case 'count':
      return range.noun ? `${value} ${range.noun}` : String(value);
  }
}

/** What range accepts, in the syntax the user types: "a size from 1MiB to 1PiB, like 512M or 2G". */
export function typedRange(range: Range): string {
  const like = range.like ? `, like ${range.like}` : '';
  const [min, max] = [range.min, range.max];
  switch (range.spelling) {
    case 'size':
      return `a size from ${formatSizeInput(min)} to ${formatSizeInput(max)}${like}`;
    case 'rate':
      return `a rate in bytes per second from ${formatSizeInput(min)} to ${formatSizeInput(max)}${like}`;
    case 'duration':
      return `a duration from ${formatDurationInput(min)} to ${formatDurationInput(max)}${like}`;
    case 'cores':
      return `a number of CPU cores from ${min} to ${max}${like}`;
    case 'count':
      return `a whole number${range.noun ? ` of ${range.noun}` : ''} from ${min} to ${max}${like}`;
  }
}

/**
 * Why value (already parsed from what was typed) is refused, in the user's units: "too small;
 * accepted: …" for a number out of range, else just what is accepted (it was not a number at all).
 */
export function typedRefusal(range: Range, value: unknown): string {
  if (typeof value === 'number' && value < range.min) return `too small; accepted: ${typedRange(range)}`;
  if (typeof value === 'number' && value > range.max) return `too large; accepted: ${typedRange(range)}`;
  return typedRange(range);
}
