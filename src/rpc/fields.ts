// Validators for the fields several methods share: ids, a job spec (argv, cwd, env, limits, name),
// certificate users and serials. The bounds are the product's limits; kernel facts that set them are
// noted where they apply.
import { JOB_STATES, type JobState, type LimitName } from './model.ts';
import { ROLES, SERIAL_RULE, USER_NAME_RULE, normalizeSerial, isUserName } from './roles.ts';
import { invalidArgument } from './errors.ts';
import { ranged, type RangeValidator } from './ranges.ts';
import {
  array,
  integer,
  nullable,
  object,
  oneOf,
  optional,
  record,
  refine,
  string,
  utf8Length,
  type Validator,
} from './validate.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const PiB = 1024 * 1024 * GiB;

/** A job id, subscription id or audit id: a positive safe integer. */
export const id: Validator<number> = integer(1, Number.MAX_SAFE_INTEGER);

/** A subscription id: positive and within u32, since binary log frames carry it in 32 bits. */
export const subscriptionId: Validator<number> = integer(1, 0xffff_ffff);

/** A log sequence number (resume point): zero or a positive safe integer. */
export const seq: Validator<number> = integer(0, Number.MAX_SAFE_INTEGER);

/** A stop grace period in milliseconds: 0 (kill at once) to one hour. */
export const graceMs: RangeValidator = ranged({ min: 0, max: 3_600_000, integer: true, spelling: 'duration', like: '10s or 500ms' });

/** A page size for list calls. */
export const listLimit: RangeValidator = ranged({ min: 1, max: 10_000, integer: true, spelling: 'count' });

/** How many trailing lines of output to start with: 0 (only new output, like `tail -n 0 -f`) and up. */
export const tailLines: RangeValidator = ranged({ min: 0, max: 1_000_000, integer: true, spelling: 'count', noun: 'lines' });

/** Job states to filter on, each at most once. */
export const states: Validator<JobState[]> = array(oneOf(JOB_STATES), { min: 1, max: JOB_STATES.length, unique: true });

/** Output streams to filter on, each at most once. */
export const streams: Validator<Array<'stdout' | 'stderr'>> = array(oneOf(['stdout', 'stderr'] as const), {
  min: 1,
  max: 2,
  unique: true,
});

// MAX_ARG_STRLEN (32 pages = 128 KiB) is the kernel's cap on one argv or env string; execve fails with
// E2BIG beyond it, so refusing here gives a message instead of a failed start.
const MAX_ARG_BYTES = 128 * KiB;

/** Most of argv, as JSON, a job may have: half a frame, so every answer about one job fits one frame. */
export const ARGV_MAX_JSON_BYTES = 512 * KiB;

/** argv: 1–4096 strings, argv[0] non-empty, each ≤ 128 KiB, ≤ 512 KiB in all as JSON. */
export const argv: Validator<string[]> = refine(
  array(string({ maxBytes: MAX_ARG_BYTES }), { min: 1, max: 4096 }),
  (args, path) => {
    if (args[0] === '') throw invalidArgument(`${path}[0]`, '', 'the command to run (a non-empty string)');
    // Counted as JSON, as it travels and is stored: a job must fit one frame in every answer about it.
    const total = utf8Length(JSON.stringify(args));
    if (total > ARGV_MAX_JSON_BYTES) throw invalidArgument(path, `${args.length} arguments`, `at most ${ARGV_MAX_JSON_BYTES} bytes in all, as JSON (got ${total})`);
    return args;
  },
);

// PATH_MAX is 4096 on Linux, including the terminating NUL.
/** An absolute path on the daemon host: starts with "/", no NUL, < 4096 bytes. */
export const absolutePath: Validator<string> = string({
  min: 1,
  maxBytes: 4095,
  pattern: { re: /^\//, what: 'an absolute path (starting with "/")' },
});

/** Most variables a job's environment may hold. */
export const ENV_MAX_VARIABLES = 4096;

/** Most bytes a job's environment may hold, counted as the kernel stores it ("K=V\0" each, as recordEntryBytes counts). */
export const ENV_MAX_TOTAL_BYTES = 384 * KiB;

/** An environment variable's name: non-empty, no "=" (execve splits there), ≤ 1 KiB. */
export const envName: Validator<string> = string({ min: 1, maxBytes: 1024, pattern: { re: /^[^=]*$/, what: 'a variable name without "="' } });

/** An environment variable's value: with the longest name, "K=V" stays within the kernel's 128 KiB. */
export const envValue: Validator<string> = string({ maxBytes: MAX_ARG_BYTES - 1026 });

/**
 * Environment: ≤ 4096 variables, ≤ 384 KiB in all (with argv's 512 KiB a start request stays within
 * one frame); names and values as envName and envValue.
 */
export const env: Validator<Record<string, string>> = record(envName, envValue, {
  maxEntries: ENV_MAX_VARIABLES,
  maxTotalBytes: ENV_MAX_TOTAL_BYTES,
});

/** A job name: 1–128 characters, no control characters. */
export const jobName: Validator<string> = string({ min: 1, max: 128, noControl: true });

const ioRate = { min: KiB, max: 100 * GiB, integer: true, spelling: 'rate', like: '10M or 1.5G' } as const;

/** Each resource limit's own validator, whose range a client rewords in the units its user types. */
export const limitFields = {
  cpu: ranged({ min: 0.01, max: 1024, integer: false, spelling: 'cores', like: '0.5 or 2' }),
  memory: ranged({ min: MiB, max: PiB, integer: true, spelling: 'size', like: '512M or 2G' }),
  // The kernel's PID_MAX_LIMIT (4M).
  pids: ranged({ min: 1, max: 4_194_304, integer: true, spelling: 'count', noun: 'processes' }),
  ioRead: ranged(ioRate),
  ioWrite: ranged(ioRate),
} satisfies Record<LimitName, RangeValidator>;

/** Resource limits; every field optional, every bound finite. */
export const limits = object({
  cpu: optional(limitFields.cpu),
  memory: optional(limitFields.memory),
  pids: optional(limitFields.pids),
  ioRead: optional(limitFields.ioRead),
  ioWrite: optional(limitFields.ioWrite),
});

/** What a client sends to start a job (the JobSpec of model.ts). */
export const jobSpec = object({
  argv,
  cwd: absolutePath,
  env,
  limits,
  name: optional(nullable(jobName)),
});

/** A user name as carried in a certificate's CN. */
export const userName: Validator<string> = (value, path) => {
  if (!isUserName(value)) throw invalidArgument(path, value, `a user name: ${USER_NAME_RULE}`);
  return value;
};

/** A role as carried in a certificate's O. */
export const role = oneOf(ROLES);

/** Certificate lifetime in days: 1 to 10 years. */
export const certDays: RangeValidator = ranged({ min: 1, max: 3650, integer: true, spelling: 'count', noun: 'days' });

/** A certificate serial, returned in canonical form (lowercase hex, no leading zeros). */
export const serial: Validator<string> = refine(string({ max: 128 }), (text, path) => {
  const canonical = normalizeSerial(text);
  if (canonical === null) throw invalidArgument(path, text, SERIAL_RULE);
  return canonical;
});
