// Parsing a job id argument.
import { invalidArgument } from '../rpc/errors.ts';

/** The job id in text, or INVALID_ARGUMENT naming the argument. */
export function parseJobId(text: unknown): number {
  const s = String(text ?? '');
  if (!/^[1-9]\d{0,15}$/.test(s) || !Number.isSafeInteger(Number(s))) throw invalidArgument('ID', s, 'a job id: a positive whole number as printed by jobctl run or ps');
  return Number(s);
}
