// Yes/no environment variables (JOBCTL_NO_AUTOSTART): the spellings people use for "on" and "off",
// in any case; anything else is a usage error naming the variable rather than a silent "off".
import { invalidArgument } from '../rpc/errors.ts';

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

/** True for 1/true/yes/on, false for 0/false/no/off/empty or unset; INVALID_ARGUMENT otherwise. */
export function envFlag(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[name];
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw invalidArgument(name, raw, '1, true, yes or on (any case) to turn it on; 0, false, no, off or empty to leave it off');
}
