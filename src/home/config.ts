// The daemon's configuration file (config.json in the home): listen address, default and maximum
// limits, log cap, retention, extra server names, stop grace. Every value is checked at start with a
// message naming the key, the value and the accepted range; a missing file means the defaults.
import { readFileSync } from 'node:fs';
import { JobctlError, describeValue, invalidArgument, isJobctlError } from '../rpc/errors.ts';
import { graceMs, limitFields, limits as limitsValidator } from '../rpc/fields.ts';
import { LIMIT_NAMES, type Limits } from '../rpc/model.ts';
import { parseBytes, parseCpu, parseDuration } from '../rpc/parse-size.ts';
import { ranged, typedRefusal, type Range, type RangeValidator } from '../rpc/ranges.ts';
import { array, integer, isPlainObject, nullable, object, optional, string, type Validator } from '../rpc/validate.ts';

/** The daemon's settings after validation. */
export interface DaemonConfig {
  /** HOST:PORT; port 0 picks a free port (clients find it in daemon.json). */
  listen: string;
  serverNames: string[];
  defaultLimits: Limits;
  maxLimits: Limits;
  /** Per-job log cap in bytes: older output is dropped beyond it, with a marker. */
  logCapBytes: number;
  retention: { maxAgeDays: number | null; maxFinishedJobs: number | null };
  stopGraceMs: number;
}

/** The settings used when config.json does not say otherwise. */
export const DEFAULT_CONFIG: DaemonConfig = {
  listen: '127.0.0.1:0',
  serverNames: [],
  defaultLimits: {},
  maxLimits: {},
  logCapBytes: 256 * 1024 * 1024,
  retention: { maxAgeDays: 30, maxFinishedJobs: 10_000 },
  stopGraceMs: 10_000,
};

// What a bare JSON number means where a string would carry a unit ("256M", "10s").
const BARE_NUMBER: Partial<Record<Range['spelling'], string>> = { size: 'bytes', rate: 'bytes per second', duration: 'milliseconds' };

/**
 * A value written as the CLI's flags are ("256M", "10s", "0.5") or as a JSON number in the wire's
 * units, checked by the wire's own validator; a refusal quotes the value as written and says the
 * range in the same spelling, since that is what the person editing config.json types.
 */
function quantity(validator: RangeValidator, parse?: (text: string, field: string) => number): Validator<number> {
  const { range } = validator;
  const bare = BARE_NUMBER[range.spelling];
  return (value, path) => {
    const parsed = typeof value === 'string' && parse ? parse(value, path) : value;
    try {
      return validator(parsed, path);
    } catch (err) {
      if (!isJobctlError(err) || err.code !== 'INVALID_ARGUMENT') throw err;
      throw invalidArgument(path, value, `${typedRefusal(range, parsed)}${bare ? `, or a JSON number of ${bare}` : ''}`);
    }
  };
}

const LIMIT_PARSERS = { cpu: parseCpu, memory: parseBytes, pids: undefined, ioRead: parseBytes, ioWrite: parseBytes };

// Limits may be written as in the CLI ("256M", "0.5"); they are parsed, then checked by the same
// validators the wire uses, so config and clients share one set of bounds.
const limitsInput: Validator<Limits> = (value, path) => {
  if (!isPlainObject(value)) return limitsValidator(value, path);
  const parsed: Record<string, unknown> = { ...value };
  for (const key of LIMIT_NAMES) if (key in parsed) parsed[key] = quantity(limitFields[key], LIMIT_PARSERS[key])(parsed[key], `${path}.${key}`);
  return limitsValidator(parsed, path) as Limits;
};

// The per-job log cap (logCap), in bytes.
const logCap = ranged({ min: 64 * 1024, max: 2 ** 50, integer: true, spelling: 'size', like: '256M or 1G' });

const configFile = object({
  listen: optional(string({ min: 3, max: 300, pattern: { re: /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, what: 'HOST:PORT, e.g. 127.0.0.1:7777 or [::1]:7777 (port 0: any free port)' } })),
  serverNames: optional(array(string({ min: 1, max: 253, pattern: { re: /^[A-Za-z0-9.:-]+$/, what: 'a DNS name or IP address' } }), { max: 64 })),
  defaultLimits: optional(limitsInput),
  maxLimits: optional(limitsInput),
  logCap: optional(quantity(logCap, parseBytes)),
  retention: optional(
    object({
      maxAgeDays: optional(nullable(integer(1, 36_500, ' days'))),
      maxFinishedJobs: optional(nullable(integer(1, 100_000_000))),
    }),
  ),
  // The same bounds as a client's stop --grace.
  stopGrace: optional(quantity(graceMs, parseDuration)),
});

/** Reads and validates config.json at path; throws INVALID_ARGUMENT naming the key. */
export function loadConfig(path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CONFIG;
    throw new JobctlError('INVALID_ARGUMENT', `cannot read the configuration ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new JobctlError('INVALID_ARGUMENT', `configuration ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const c = configFile(raw, 'config');
  const listen = c.listen ?? DEFAULT_CONFIG.listen;
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  if (port > 65535) throw invalidArgument('config.listen', listen, 'a port from 0 to 65535');
  for (const [name, value] of Object.entries(c.defaultLimits ?? {})) {
    const max = (c.maxLimits as Record<string, number> | undefined)?.[name];
    // Both quoted as written ("2G", not 2147483648): raw is the file's own text, already checked.
    const written = (key: string) => ((raw as Record<string, Record<string, unknown>>)[key] as Record<string, unknown>)[name];
    if (max !== undefined && typeof value === 'number' && value > max) throw invalidArgument(`config.defaultLimits.${name}`, written('defaultLimits'), `at most config.maxLimits.${name} (${describeValue(written('maxLimits'))})`);
  }
  return {
    listen,
    serverNames: c.serverNames ?? [],
    defaultLimits: c.defaultLimits ?? {},
    maxLimits: c.maxLimits ?? {},
    logCapBytes: (c.logCap as number | undefined) ?? DEFAULT_CONFIG.logCapBytes,
    retention: {
      maxAgeDays: c.retention?.maxAgeDays !== undefined ? c.retention.maxAgeDays : DEFAULT_CONFIG.retention.maxAgeDays,
      maxFinishedJobs: c.retention?.maxFinishedJobs !== undefined ? c.retention.maxFinishedJobs : DEFAULT_CONFIG.retention.maxFinishedJobs,
    },
    stopGraceMs: (c.stopGrace as number | undefined) ?? DEFAULT_CONFIG.stopGraceMs,
  };
}

/** Splits "HOST:PORT" ("[::1]:7777" too) into its parts. */
export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(i + 1)) };
}
