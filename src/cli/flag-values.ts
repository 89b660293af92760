// Command-line flag values checked before any connection, with messages in the user's terms: the
// flag they typed, the text they typed (not what it was parsed into), and what is accepted in the
// units they type (512M, not 536870912 bytes). The bounds are the method table's own validators
// (rpc/fields.ts), so the CLI and the daemon agree; a refusal the CLI cannot foresee (config.json's
// maxLimits) is renamed the same way (renameFields).
import { JobctlError, describeValue, invalidArgument, isJobctlError } from '../rpc/errors.ts';
import { rangeOf, typedAmount, typedRefusal, type Range } from '../rpc/ranges.ts';
import type { Validator } from '../rpc/validate.ts';

/** Where a request field came from: the flag and the text typed for it. */
export interface FlagOrigin {
  /** The field's path in the request params, without "params." (e.g. "limits.memory", "graceMs"). */
  field: string;
  flag: string;
  typed: string;
  /** The value sent for it (as the daemon will quote it). */
  sent: unknown;
  /** The field's range, when it has one: a cap the daemon reports is then said in the typed units. */
  range?: Range;
}

/** What a validator's INVALID_ARGUMENT says is accepted (the text after "invalid FIELD VALUE: "). */
export function acceptedText(err: JobctlError, field: string, value: unknown): string {
  const prefix = `invalid ${field} ${describeValue(value)}: `;
  const text = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  // A value of the wrong kind ("abc" for a number) is reported as such: the user typed text anyway.
  return text.replace(/, got (a string|NaN|Infinity|-Infinity)$/, '');
}

/**
 * value (parsed from typed) checked by validator; a refusal names flag and typed. A ranged validator
 * (rpc/ranges.ts) is reworded in the units the user types ("too small; accepted: a size from 1MiB…"),
 * since its own wording is the wire's (bytes, ms).
 */
export function checkFlag<T>(flag: string, typed: string, value: unknown, validator: Validator<T>): T {
  try {
    return validator(value, flag);
  } catch (err) {
    if (!isJobctlError(err) || err.code !== 'INVALID_ARGUMENT') throw err;
    const range = rangeOf(validator);
    throw invalidArgument(flag, typed, range ? typedRefusal(range, value) : acceptedText(err, String(err.details?.field ?? flag), value));
  }
}

/**
 * A whole-number flag: yargs keeps it as text (its "number" type turns "abc" into NaN and "1e3" into
 * 1000), digits only, then the validator's bounds.
 */
export function wholeNumberFlag(flag: string, typed: unknown, validator: Validator<number>): number {
  const text = String(typed);
  return checkFlag(flag, text, /^\d{1,16}$/.test(text) ? Number(text) : text, validator);
}

/**
 * Runs a call whose params came from flags; an INVALID_ARGUMENT from the daemon about one of those
 * fields is reworded to name the flag and the typed text (the rest of the daemon's message is kept).
 */
export async function renameFields<T>(call: Promise<T>, origins: FlagOrigin[]): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (!isJobctlError(err) || err.code !== 'INVALID_ARGUMENT') throw err;
    const field = String(err.details?.field ?? '').replace(/^params\./, '');
    const origin = origins.find((o) => o.field === field);
    if (!origin) throw err;
    // The daemon's own cap (details.max, in wire units) is said as the user would type it.
    const max = err.details?.max;
    if (origin.range && typeof max === 'number') {
      throw invalidArgument(origin.flag, origin.typed, `too large; accepted: at most ${typedAmount(origin.range, max)} (the daemon's maximum)`);
    }
    throw invalidArgument(origin.flag, origin.typed, acceptedText(err, String(err.details?.field), origin.sent));
  }
}
