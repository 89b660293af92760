// Limit values: defensive validation at the cgroup boundary, and the numbers both drivers share.

import { invalidArgument } from '../rpc/errors.ts';
import { LIMIT_NAMES, type Limits } from '../rpc/model.ts';

/** CFS period written on both versions: 100 ms, the kernel default. */
export const CFS_PERIOD_US = 100_000;

/** The kernel refuses a CFS quota below 1 ms (EINVAL), so tiny CPU limits are raised to it. */
export const MIN_CFS_QUOTA_US = 1_000;

/** The kernel's PID_MAX_LIMIT (4M): pids.max above it is EINVAL. */
export const MAX_PIDS = 4_194_304;

/** The CFS quota for a CPU limit in cores: round(cpus × period), at least 1 ms. */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(MIN_CFS_QUOTA_US, Math.round(cpus * CFS_PERIOD_US));
}

/** The limits present in `limits`, in LIMIT_NAMES order. */
export function requestedLimits(limits: Limits): Array<(typeof LIMIT_NAMES)[number]> {
  return LIMIT_NAMES.filter((n) => limits[n] !== undefined);
}

/**
 * Throws INVALID_ARGUMENT for anything but finite positive numbers (integers except cpu), for unknown
 * keys and for null. The RPC layer validates too; this layer must not write NaN into a kernel file.
 */
export function validateLimits(limits: Limits): void {
  if (limits === null || typeof limits !== 'object') throw invalidArgument('limits', limits, 'an object such as {"memory": 268435456}');
  for (const key of Object.keys(limits)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(key)) throw invalidArgument('limits', key, `a limit name, one of ${LIMIT_NAMES.join(', ')}`);
  }
  for (const name of LIMIT_NAMES) {
    const v: unknown = limits[name];
    if (v === undefined) continue;
    const field = `limits.${name}`;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw invalidArgument(field, v, name === 'cpu' ? 'a positive number of cores, e.g. 0.5' : 'a positive whole number');
    }
    if (name !== 'cpu' && !Number.isSafeInteger(v)) throw invalidArgument(field, v, 'a positive whole number');
    if (name === 'pids' && v > MAX_PIDS) throw invalidArgument(field, v, `at most ${MAX_PIDS} (the kernel's PID_MAX_LIMIT)`);
    if (name === 'cpu' && v > 1_000_000) throw invalidArgument(field, v, 'at most 1000000 cores');
  }
}
