// Tiny validator combinators for untrusted input (RPC parameters, config). A validator takes an
// unknown value and the path it sits at ("params.limits.memory") and returns it typed, or throws an
// INVALID_ARGUMENT JobctlError naming that path, the value and what is accepted. No dependency: the
// rules are few and the messages are ours.
import { describeValue, invalidArgument } from './errors.ts';

/** Checks value (found at path) and returns it typed, possibly normalized; throws INVALID_ARGUMENT. */
export type Validator<T> = (value: unknown, path: string) => T;

/** A validator whose key object() lets be absent; made by optional(). */
export interface OptionalValidator<T> extends Validator<T | undefined> {
  readonly optional: true;
}

/** The type a validator returns. */
export type Infer<V> = V extends Validator<infer T> ? T : never;

type Shape = Record<string, Validator<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S> = { [K in keyof S]: S[K] extends OptionalValidator<unknown> ? never : K }[keyof S];
type OptionalKeys<S> = { [K in keyof S]: S[K] extends OptionalValidator<unknown> ? K : never }[keyof S];

/** The object type object(shape) returns: optional() keys become optional properties. */
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

// Code points that make a string unfit for our wire: NUL (the kernel would cut argv/env there) and
// lone surrogates (they cannot be encoded as UTF-8; Node would silently replace them).
const NUL = /\0/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
// C0/C1 controls, DEL, line/paragraph separators and bidi overrides: they would corrupt or disguise
// what a terminal shows (job names appear in `ps` and the TUI).
const DISPLAY_CONTROL = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/;

/** Length of s encoded as UTF-8, without allocating (lone surrogates count as their 3-byte replacement). */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Options of string(). */
export interface StringRules {
  /** Minimum length in characters (default 0). */
  min?: number;
  /** Maximum length in characters. */
  max?: number;
  /** Maximum length in UTF-8 bytes (what the kernel counts). */
  maxBytes?: number;
  /** Refuse control characters (for text shown in a terminal). */
  noControl?: boolean;
  /** A pattern the whole string must match, with its description for messages. */
  pattern?: { re: RegExp; what: string };
}

/** A string without NUL or lone surrogates, within the given rules. */
export function string(rules: StringRules = {}): Validator<string> {
  const min = rules.min ?? 0;
  return (value, path) => {
    if (typeof value !== 'string') throw invalidArgument(path, value, `a string, got ${kindOf(value)}`);
    if (value.length < min) throw invalidArgument(path, value, min === 1 ? 'a non-empty string' : `at least ${min} characters`);
    if (rules.max !== undefined && value.length > rules.max) {
      throw invalidArgument(path, value, `at most ${rules.max} characters (got ${value.length})`);
    }
    if (NUL.test(value)) throw invalidArgument(path, value, 'a string without NUL characters');
    if (LONE_SURROGATE.test(value)) throw invalidArgument(path, value, 'valid Unicode text (it holds a lone surrogate)');
    if (rules.noControl && DISPLAY_CONTROL.test(value)) throw invalidArgument(path, value, 'text without control characters');
    if (rules.maxBytes !== undefined) {
      const bytes = utf8Length(value);
      if (bytes > rules.maxBytes) throw invalidArgument(path, value, `at most ${rules.maxBytes} bytes as UTF-8 (got ${bytes})`);
    }
    if (rules.pattern && !rules.pattern.re.test(value)) throw invalidArgument(path, value, rules.pattern.what);
    return value;
  };
}

/** A finite number from min to max inclusive. */
export function number(min: number, max: number, unit = ''): Validator<number> {
  const range = `a number from ${min} to ${max}${unit}`;
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(path, value, `${range}, got ${kindOf(value)}`);
    if (value < min || value > max) throw invalidArgument(path, value, range);
    return value;
  };
}

/** An integer from min to max inclusive (both safe integers). */
export function integer(min: number, max: number, unit = ''): Validator<number> {
  const range = `an integer from ${min} to ${max}${unit}`;
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidArgument(path, value, `${range}, got ${kindOf(value)}`);
    if (value < min || value > max) throw invalidArgument(path, value, range);
    return value;
  };
}

/** true or false. */
export function boolean(): Validator<boolean> {
  return (value, path) => {
    if (typeof value !== 'boolean') throw invalidArgument(path, value, `true or false, got ${kindOf(value)}`);
    return value;
  };
}

/** One of the given string constants. */
export function oneOf<const T extends string>(choices: readonly T[]): Validator<T> {
  return (value, path) => {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw invalidArgument(path, value, `one of ${choices.join(', ')}`);
    }
    return value as T;
  };
}

/** Options of array(). */
export interface ArrayRules {
  min?: number;
  max: number;
  /** Refuse repeated items (compared with ===). */
  unique?: boolean;
}

/** An array of at most rules.max items, each checked at `path[i]`. */
export function array<T>(item: Validator<T>, rules: ArrayRules): Validator<T[]> {
  const min = rules.min ?? 0;
  return (value, path) => {
    if (!Array.isArray(value)) throw invalidArgument(path, value, `an array, got ${kindOf(value)}`);
    if (value.length < min) throw invalidArgument(path, value, min === 1 ? 'a non-empty array' : `an array of at least ${min} items`);
    if (value.length > rules.max) throw invalidArgument(path, value, `at most ${rules.max} items (got ${value.length})`);
    const out = value.map((v: unknown, i) => item(v, `${path}[${i}]`));
    if (rules.unique) {
      const seen = new Set<T>();
      out.forEach((v, i) => {
        if (seen.has(v)) throw invalidArgument(`${path}[${i}]`, v, 'each item at most once');
        seen.add(v);
      });
    }
    return out;
  };
}

/**
 * An object with exactly the keys of shape (keys whose validator is optional() may be absent).
 * Unknown keys are refused by name: a misspelled option must not be silently ignored. Keys are looked
 * up with Object.hasOwn so "constructor" or "__proto__" never reach an inherited property, and the
 * result is a fresh object holding only known keys.
 */
export function object<S extends Shape>(shape: S): Validator<ObjectOf<S>> {
  const known = Object.keys(shape);
  const accepts = known.length === 0 ? 'no fields' : `the fields ${known.join(', ')}`;
  return (value, path) => {
    if (!isPlainObject(value)) throw invalidArgument(path, value, `an object, got ${kindOf(value)}`);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(shape, key)) throw invalidArgument(childPath(path, key), value[key], `unknown field; ${path} accepts ${accepts}`);
    }
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const check = shape[key] as Validator<unknown> & { optional?: true };
      const present = Object.hasOwn(value, key) && value[key] !== undefined;
      if (!present && !check.optional) throw invalidArgument(childPath(path, key), undefined, 'a value (the field is required)');
      if (present) out[key] = check(value[key], childPath(path, key));
    }
    return out as ObjectOf<S>;
  };
}

/** Options of record(). */
export interface RecordRules {
  maxEntries: number;
  /** Cap on the sum over entries of UTF-8 key + value + 2 bytes ("K=V\0", as the kernel stores env). */
  maxTotalBytes: number;
}

/**
 * A string-keyed map of values. The result is built with Object.fromEntries, which defines own
 * properties: a "__proto__" key stays a plain key and never changes the prototype.
 */
export function record<V>(key: Validator<string>, item: Validator<V>, rules: RecordRules): Validator<Record<string, V>> {
  return (value, path) => {
    if (!isPlainObject(value)) throw invalidArgument(path, value, `an object, got ${kindOf(value)}`);
    const keys = Object.keys(value);
    if (keys.length > rules.maxEntries) throw invalidArgument(path, `${keys.length} entries`, `at most ${rules.maxEntries} entries`);
    let total = 0;
    const entries = keys.map((k): [string, V] => {
      key(k, `${path} key`);
      const v = item(value[k], childPath(path, k));
      total += recordEntryBytes(k, v);
      return [k, v];
    });
    if (total > rules.maxTotalBytes) throw invalidArgument(path, `${total} bytes`, `at most ${rules.maxTotalBytes} bytes in all`);
    return Object.fromEntries(entries);
  };
}

/** What one entry of a record() counts toward maxTotalBytes: "K=V\0" in UTF-8, as the kernel stores env. */
export function recordEntryBytes(key: string, value: unknown): number {
  return utf8Length(key) + (typeof value === 'string' ? utf8Length(value) : 0) + 2;
}

/** Lets the key be absent (or undefined) in an object(). */
export function optional<T>(inner: Validator<T>): OptionalValidator<T> {
  const check = ((value: unknown, path: string) => (value === undefined ? undefined : inner(value, path))) as OptionalValidator<T>;
  return Object.assign(check, { optional: true as const });
}

/** Also accepts null. */
export function nullable<T>(inner: Validator<T>): Validator<T | null> {
  return (value, path) => (value === null ? null : inner(value, path));
}

/** Runs inner, then then(): a cross-field rule or a normalization, which may throw invalidArgument. */
export function refine<T, U>(inner: Validator<T>, then: (value: T, path: string) => U): Validator<U> {
  return (value, path) => then(inner(value, path), path);
}

/** True for a non-null, non-array object. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "params.limits" + "memory" → "params.limits.memory"; odd keys are quoted and shortened. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]{0,63}$/.test(key) ? `${path}.${key}` : `${path}[${describeValue(key)}]`;
}

/** What kind of JSON value this is, for "got …" in messages. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return `a ${typeof value}`;
}
