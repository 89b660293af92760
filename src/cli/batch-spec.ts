// The input of `jobctl run --batch FILE`: one job per line, as JSON, never through a shell.
//   ["make", "-C", "src", "test"]                          the command and its arguments
//   {"argv": ["./train.sh", "7"], "name": "seed-7", "cwd": "/data", "env": {"SEED": "7"}}
// Empty lines and lines starting with # are skipped. The command line's options (limits, --name,
// --cwd, --env, --clean-env) are the defaults of every line; a line's own env adds to them.
import { resolve } from 'node:path';
import { invalidArgument, isJobctlError } from '../rpc/errors.ts';
import { absolutePath, argv as argvField, env as envField, jobSpec } from '../rpc/fields.ts';
import type { JobSpec } from '../rpc/model.ts';
import { envCaps, envOverflow } from './env-args.ts';
import { acceptedText } from './flag-values.ts';

/** What every line starts from: the command line's options. */
export interface BatchDefaults {
  cwd: string;
  env: Record<string, string>;
  limits: JobSpec['limits'];
  name: string | null;
}

/** One job of the batch, with the line it came from (for messages). */
export interface BatchJob {
  line: number;
  spec: JobSpec;
}

const LINE_KEYS = ['argv', 'name', 'cwd', 'env'] as const;
const LINE_FORMAT = 'a JSON array of strings (the command and its arguments) or an object with "argv" and optionally "name", "cwd", "env"';

/**
 * Parses and validates the whole batch before anything is submitted, so a mistake on line 900 does
 * not leave 899 jobs started. Errors name the line and the field as the line writes it ("line 3[1]"
 * in an array line, "line 3.env.SEED" in an object line) and the value as written.
 */
export function parseBatch(text: string, defaults: BatchDefaults): BatchJob[] {
  const jobs: BatchJob[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw invalidArgument(where, raw, `${LINE_FORMAT} (${(err as Error).message})`);
    }
    jobs.push({ line: i + 1, spec: jobSpec(lineSpec(value, where, defaults), where) as JobSpec });
  }
  if (jobs.length === 0) throw invalidArgument('--batch', text.slice(0, 40), `at least one job: ${LINE_FORMAT}, one per line`);
  return jobs;
}

function lineSpec(value: unknown, where: string, defaults: BatchDefaults): unknown {
  const base = { cwd: defaults.cwd, env: defaults.env, limits: defaults.limits, name: defaults.name };
  // An array line is the command itself: its items are named "line N[i]", not "line N.argv[i]".
  if (Array.isArray(value)) return { ...base, argv: argvField(value, where) };
  if (value === null || typeof value !== 'object') throw invalidArgument(where, value, LINE_FORMAT);
  const line = value as Record<string, unknown>;
  for (const key of Object.keys(line)) {
    if (!(LINE_KEYS as readonly string[]).includes(key)) throw invalidArgument(`${where}.${key}`, line[key], `one of the keys ${LINE_KEYS.join(', ')} (limits come from the command line)`);
  }
  if (!('argv' in line)) throw invalidArgument(`${where}.argv`, undefined, 'the command and its arguments, as an array of strings');
  const env = line.env;
  if (env !== undefined && (env === null || typeof env !== 'object' || Array.isArray(env))) throw invalidArgument(`${where}.env`, env, 'an object of string values, e.g. {"SEED": "7"}');
  return {
    ...base,
    argv: line.argv,
    ...(line.name !== undefined ? { name: line.name } : {}),
    ...(line.cwd !== undefined ? { cwd: lineCwd(line.cwd, `${where}.cwd`, defaults.cwd) } : {}),
    ...(env !== undefined ? { env: lineEnv(env, `${where}.env`, defaults.env) } : {}),
  };
}

/** A line's cwd, relative to the command line's --cwd (or the caller's directory); refusals quote it as written. */
function lineCwd(cwd: unknown, field: string, base: string): unknown {
  if (typeof cwd !== 'string') return cwd;
  const path = resolve(base, cwd);
  try {
    return absolutePath(path, field);
  } catch (err) {
    if (!isJobctlError(err) || err.code !== 'INVALID_ARGUMENT') throw err;
    throw invalidArgument(field, cwd, acceptedText(err, field, path));
  }
}

/**
 * A line's env over the command line's: its own variables are checked where the line writes them
 * ("line 3.env.SEED"); a total over the caps may come from the command line's part, so that is said.
 */
function lineEnv(env: object, field: string, base: Record<string, string>): Record<string, string> {
  const own = envField(env, field);
  const merged = { ...base, ...own };
  const over = envOverflow(merged);
  if (over !== null) {
    throw invalidArgument(field, `${Object.keys(own).length} variables`, `${envCaps()}, together with the environment the command line gives every line (--env, and yours unless --clean-env): ${over}`);
  }
  return merged;
}
