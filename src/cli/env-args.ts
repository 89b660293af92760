// The environment `jobctl run` sends: the caller's own (unless --clean-env), then each --env
// NAME=VALUE. Checked here, before any connection, against the daemon's own limits (rpc/fields.ts):
// the daemon's refusal would name params.env, which the user never typed; this one names --env, the
// pair typed (shortened by describeValue when huge) and what would be accepted.
import { invalidArgument, isJobctlError } from '../rpc/errors.ts';
import { ENV_MAX_TOTAL_BYTES, ENV_MAX_VARIABLES, envName, envValue } from '../rpc/fields.ts';
import { formatBytes } from '../rpc/parse-size.ts';
import { recordEntryBytes, type Validator } from '../rpc/validate.ts';
import { acceptedText } from './flag-values.ts';

const FLAG = '--env';

/** The variables and bytes an environment counts toward the daemon's caps. */
interface Size {
  variables: number;
  bytes: number;
}

function sizeOf(env: Record<string, string>): Size {
  let bytes = 0;
  for (const [name, value] of Object.entries(env)) bytes += recordEntryBytes(name, value);
  return { variables: Object.keys(env).length, bytes };
}

/** What makes env too large for a job ("4100 variables", "390.6 KiB (400012 bytes)"), or null when it fits. */
export function envOverflow(env: Record<string, string>): string | null {
  const size = sizeOf(env);
  if (size.variables > ENV_MAX_VARIABLES) return `${size.variables} variables`;
  if (size.bytes > ENV_MAX_TOTAL_BYTES) return bytesText(size.bytes);
  return null;
}

/** The caps an environment must fit, as said in messages. */
export function envCaps(): string {
  return `at most ${ENV_MAX_VARIABLES} variables and ${bytesText(ENV_MAX_TOTAL_BYTES)} in all, counting NAME=VALUE of every variable`;
}

/** "2.5 KiB (2560 bytes)": the exact count a cap is checked on, readable. */
function bytesText(n: number): string {
  return n < 1024 ? `${n} bytes` : `${formatBytes(n)} (${n} bytes)`;
}

/** One part of NAME=VALUE checked by the daemon's validator; a refusal names the pair as typed. */
function checkPart(pair: string, part: 'name' | 'value', text: string, validator: Validator<string>): void {
  try {
    validator(text, FLAG);
  } catch (err) {
    if (!isJobctlError(err) || err.code !== 'INVALID_ARGUMENT') throw err;
    throw invalidArgument(FLAG, pair, `NAME=VALUE with a ${part} of ${acceptedText(err, FLAG, text)}`);
  }
}

/**
 * base (the caller's environment, or {} for --clean-env) with each NAME=VALUE of pairs set over it;
 * INVALID_ARGUMENT (a usage error) naming --env and the first pair that breaks a limit, or naming the
 * caller's environment when that alone is over one.
 */
export function envFromArgs(pairs: readonly string[], base: Record<string, string>, options: { clean: boolean }): Record<string, string> {
  const env = { ...base };
  const inherited = sizeOf(env);
  // Without a flag to blame, the caller's own environment is the thing to name, with the way out.
  const over = envOverflow(env);
  if (over !== null) {
    throw invalidArgument('environment', over, `your environment is too large to pass on to a job: ${envCaps()}; use --clean-env and give the job what it needs with ${FLAG} NAME=VALUE`);
  }
  const yours = options.clean ? '' : `, your environment included (--clean-env leaves it out: it holds ${inherited.variables} variables, ${formatBytes(inherited.bytes)})`;
  const size = { ...inherited };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw invalidArgument(FLAG, pair, 'NAME=VALUE with a non-empty NAME');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    checkPart(pair, 'name', name, envName);
    checkPart(pair, 'value', value, envValue);
    // Setting a name again replaces its value: the old entry stops counting.
    const replaced = Object.hasOwn(env, name);
    size.variables += replaced ? 0 : 1;
    size.bytes += recordEntryBytes(name, value) - (replaced ? recordEntryBytes(name, env[name]) : 0);
    if (size.variables > ENV_MAX_VARIABLES) {
      throw invalidArgument(FLAG, pair, `one variable too many; accepted: at most ${ENV_MAX_VARIABLES} variables in all${yours}`);
    }
    if (size.bytes > ENV_MAX_TOTAL_BYTES) {
      throw invalidArgument(FLAG, pair, `the environment would hold ${bytesText(size.bytes)}; accepted: at most ${bytesText(ENV_MAX_TOTAL_BYTES)} in all, counting NAME=VALUE of every variable${yours}`);
    }
    env[name] = value;
  }
  return env;
}
