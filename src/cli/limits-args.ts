// The limit flags of `jobctl run` (--cpu, --memory, --pids, --io-read, --io-write) and their parsing.
import type { Argv } from 'yargs';
import type { Limits } from '../rpc/model.ts';
import { BYTES_FORMAT, CPU_FORMAT, parseBytes, parseCpu } from '../rpc/parse-size.ts';
import { invalidArgument } from '../rpc/errors.ts';

/** Adds the limit flags to a command. */
export function withLimitOptions<T>(y: Argv<T>) {
  return y
    .option('cpu', { type: 'string', describe: `CPU cores (${CPU_FORMAT})`, group: 'Limits:' })
    .option('memory', { type: 'string', describe: `memory (${BYTES_FORMAT}); swap cannot be used to exceed it`, group: 'Limits:' })
    .option('pids', { type: 'string', describe: 'most processes/threads alive at once', group: 'Limits:' })
    .option('io-read', { type: 'string', describe: 'read bytes/s on the disk holding --cwd (e.g. 10M)', group: 'Limits:' })
    .option('io-write', { type: 'string', describe: 'write bytes/s on the disk holding --cwd (e.g. 10M)', group: 'Limits:' });
}

/** The Limits named by parsed flags; bad values name the flag. */
export function limitsFromArgs(args: { cpu?: string; memory?: string; pids?: string; ioRead?: string; ioWrite?: string }): Limits {
  const limits: Limits = {};
  if (args.cpu !== undefined) limits.cpu = parseCpu(args.cpu, '--cpu');
  if (args.memory !== undefined) limits.memory = parseBytes(args.memory, '--memory');
  if (args.pids !== undefined) {
    if (!/^\d+$/.test(args.pids)) throw invalidArgument('--pids', args.pids, 'a whole number of processes, e.g. 100');
    limits.pids = Number(args.pids);
  }
  if (args.ioRead !== undefined) limits.ioRead = parseBytes(args.ioRead, '--io-read');
  if (args.ioWrite !== undefined) limits.ioWrite = parseBytes(args.ioWrite, '--io-write');
  return limits;
}
