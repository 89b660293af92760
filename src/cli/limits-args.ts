// The limit flags of `jobctl run` (--cpu, --memory, --pids, --io-read, --io-write) and their parsing.
import type { Argv } from 'yargs';
import type { Limits } from '../rpc/model.ts';
import { BYTES_FORMAT, CPU_FORMAT, parseBytes, parseCpu } from '../rpc/parse-size.ts';
import { invalidArgument } from '../rpc/errors.ts';
import { limitFields } from '../rpc/fields.ts';
import { checkFlag, type FlagOrigin } from './flag-values.ts';

/** Adds the limit flags to a command. */
export function withLimitOptions<T>(y: Argv<T>) {
  return y
    .option('cpu', { type: 'string', describe: `CPU cores (${CPU_FORMAT})`, group: 'Limits:' })
    .option('memory', { type: 'string', describe: `memory (${BYTES_FORMAT}); swap cannot be used to exceed it`, group: 'Limits:' })
    .option('pids', { type: 'string', describe: 'most processes/threads alive at once', group: 'Limits:' })
    .option('io-read', { type: 'string', describe: 'read bytes/s on the disk holding --cwd (e.g. 10M)', group: 'Limits:' })
    .option('io-write', { type: 'string', describe: 'write bytes/s on the disk holding --cwd (e.g. 10M)', group: 'Limits:' });
}

/** The flag of each limit, and how its text is parsed. */
const LIMIT_FLAGS = [
  { key: 'cpu', arg: 'cpu', flag: '--cpu', parse: parseCpu },
  { key: 'memory', arg: 'memory', flag: '--memory', parse: parseBytes },
  { key: 'pids', arg: 'pids', flag: '--pids', parse: parsePids },
  { key: 'ioRead', arg: 'ioRead', flag: '--io-read', parse: parseBytes },
  { key: 'ioWrite', arg: 'ioWrite', flag: '--io-write', parse: parseBytes },
] as const;

function parsePids(text: string, flag: string): number {
  if (!/^\d{1,16}$/.test(text)) throw invalidArgument(flag, text, 'a whole number of processes, e.g. 100');
  return Number(text);
}

/**
 * The Limits named by parsed flags, each checked against the bounds every job has (rpc/fields.ts)
 * before any connection; bad values name the flag, the text typed and the range in the flag's units.
 * origins, when given, receives where each field came from, so the daemon's own refusals (config.json
 * maxLimits) can be reworded.
 */
export function limitsFromArgs(args: { cpu?: string; memory?: string; pids?: string; ioRead?: string; ioWrite?: string }, origins?: FlagOrigin[]): Limits {
  const limits: Limits = {};
  for (const { key, arg, flag, parse } of LIMIT_FLAGS) {
    const typed = args[arg];
    if (typed === undefined) continue;
    const validator = limitFields[key];
    const value = checkFlag(flag, typed, parse(typed, flag), validator);
    limits[key] = value;
    origins?.push({ field: `limits.${key}`, flag, typed, sent: value, range: validator.range });
  }
  return limits;
}
