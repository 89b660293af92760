// cgroup v1 driver: plain functions of one cgroup directory. Writers return the ordered list of
// writes (so order is testable without a kernel); readers parse the kernel's own file formats.

import { join } from 'node:path';
import { exists, parseKeyed, readNumber, readText, writeValue, type CgroupWrite } from './files.ts';
import { CFS_PERIOD_US, cpuQuotaUs } from './limits.ts';
import type { DeviceNumber } from './device.ts';

/** CPU limit: cfs_period_us first, then cfs_quota_us = round(cpus × period) (>= 1000). Needs CONFIG_CFS_BANDWIDTH. */
export function cpuWrites(dir: string, cpus: number): CgroupWrite[] {
  return [
    { file: join(dir, 'cpu.cfs_period_us'), value: String(CFS_PERIOD_US), limit: 'cpu' },
    { file: join(dir, 'cpu.cfs_quota_us'), value: String(cpuQuotaUs(cpus)), limit: 'cpu' },
  ];
}

/**
 * Memory limit: memory.limit_in_bytes THEN memory.memsw.limit_in_bytes (the kernel keeps memsw >= limit
 * at every step, so the order matters). memsw exists only with swap accounting; without it a host with
 * swap gets memory.swappiness=0 so the job is at least not pushed into swap.
 */
export function memoryWrites(dir: string, bytes: number, hostHasSwap: boolean): CgroupWrite[] {
  const writes: CgroupWrite[] = [{ file: join(dir, 'memory.limit_in_bytes'), value: String(bytes), limit: 'memory' }];
  const memsw = join(dir, 'memory.memsw.limit_in_bytes');
  if (exists(memsw)) writes.push({ file: memsw, value: String(bytes), limit: 'memory' });
  else if (hostHasSwap) writes.push({ file: join(dir, 'memory.swappiness'), value: '0', limit: 'memory' });
  return writes;
}

/** Process limit. */
export function pidsWrites(dir: string, max: number): CgroupWrite[] {
  return [{ file: join(dir, 'pids.max'), value: String(max), limit: 'pids' }];
}

/**
 * Read bandwidth on one whole disk: "MAJ:MIN N". There is deliberately no write variant: v1 does not
 * throttle buffered writeback (measured here: 80 MB/s escaped a 5 MiB/s limit), so ioWrite is refused.
 */
export function blkioReadWrites(dir: string, disk: DeviceNumber, bytesPerSecond: number): CgroupWrite[] {
  return [{ file: join(dir, 'blkio.throttle.read_bps_device'), value: `${disk.major}:${disk.minor} ${bytesPerSecond}`, limit: 'ioRead' }];
}

/** CPU time in µs from cpuacct.usage (nanoseconds, user + system). */
export function cpuUsageUsec(dir: string): number {
  return Math.floor(readNumber(join(dir, 'cpuacct.usage')) / 1000);
}

/** Memory charged now and its high-water mark. */
export function memoryUsage(dir: string): { current: number; peak: number } {
  return { current: readNumber(join(dir, 'memory.usage_in_bytes')), peak: readNumber(join(dir, 'memory.max_usage_in_bytes')) };
}

/** OOM kills in this cgroup: the `oom_kill N` line of memory.oom_control (kernel >= 4.13). memory.failcnt is not used: it stayed 0 when memsw was limited. */
export function oomKills(dir: string): number {
  return parseKeyed(readText(join(dir, 'memory.oom_control'))).get('oom_kill') ?? 0;
}

/** Tasks (threads included) in the cgroup now. */
export function pidsCurrent(dir: string): number {
  return readNumber(join(dir, 'pids.current'));
}

/** v1 freezer states. FREEZING means some task (e.g. in D state) has not stopped yet. */
export type FreezerState = 'THAWED' | 'FREEZING' | 'FROZEN';

/** Writes FROZEN or THAWED to freezer.state. */
export function setFreezer(dir: string, state: 'FROZEN' | 'THAWED'): void {
  writeValue(join(dir, 'freezer.state'), state);
}

/** Reads freezer.state. */
export function freezerState(dir: string): FreezerState {
  return readText(join(dir, 'freezer.state')).trim() as FreezerState;
}
