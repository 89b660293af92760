// cgroup v2 driver: plain functions of one cgroup directory, like v1.ts. Also used on the hybrid
// layout's controller-less cgroup2 mount for tracking and killing.

import { join } from 'node:path';
import { exists, parseKeyed, readNumber, readOptional, readText, writeValue, type CgroupWrite } from './files.ts';
import { CFS_PERIOD_US, cpuQuotaUs } from './limits.ts';
import type { DeviceNumber } from './device.ts';

/** CPU limit: cpu.max = "<quota> <period>". */
export function cpuWrites(dir: string, cpus: number): CgroupWrite[] {
  return [{ file: join(dir, 'cpu.max'), value: `${cpuQuotaUs(cpus)} ${CFS_PERIOD_US}`, limit: 'cpu' }];
}

/**
 * Memory limit: memory.max, then memory.swap.max = 0 (swap must not be a way around the limit; the file
 * exists only with swap accounting), then memory.oom.group = 1 (kernel >= 4.19: an OOM kills the whole
 * job instead of leaving it half-dead).
 */
export function memoryWrites(dir: string, bytes: number): CgroupWrite[] {
  const writes: CgroupWrite[] = [{ file: join(dir, 'memory.max'), value: String(bytes), limit: 'memory' }];
  const swap = join(dir, 'memory.swap.max');
  if (exists(swap)) writes.push({ file: swap, value: '0', limit: 'memory' });
  const group = join(dir, 'memory.oom.group');
  if (exists(group)) writes.push({ file: group, value: '1', limit: 'memory' });
  return writes;
}

/** Process limit. */
export function pidsWrites(dir: string, max: number): CgroupWrite[] {
  return [{ file: join(dir, 'pids.max'), value: String(max), limit: 'pids' }];
}

/** IO bandwidth on one whole disk, in one line: "MAJ:MIN rbps=N wbps=N" (only the keys asked for). v2 charges writeback to the job. */
export function ioWrites(dir: string, disk: DeviceNumber, io: { read?: number; write?: number }): CgroupWrite[] {
  const parts = [`${disk.major}:${disk.minor}`];
  if (io.read !== undefined) parts.push(`rbps=${io.read}`);
  if (io.write !== undefined) parts.push(`wbps=${io.write}`);
  if (parts.length === 1) return [];
  return [{ file: join(dir, 'io.max'), value: parts.join(' '), limit: io.read !== undefined ? 'ioRead' : 'ioWrite' }];
}

/** CPU time in µs: usage_usec of cpu.stat (present in every non-root v2 cgroup, with or without the cpu controller). */
export function cpuUsageUsec(dir: string): number {
  return parseKeyed(readText(join(dir, 'cpu.stat'))).get('usage_usec') ?? 0;
}

/** Memory charged now, and the peak (memory.peak needs kernel >= 5.19; null before). */
export function memoryUsage(dir: string): { current: number; peak: number | null } {
  const peak = readOptional(join(dir, 'memory.peak'));
  return { current: readNumber(join(dir, 'memory.current')), peak: peak === null ? null : Number(peak.trim()) };
}

/**
 * OOM kills from memory.events (hierarchical: includes the job's own sub-cgroups). oom_kill counts
 * killed processes, oom_group_kill counts group-kill events (kernel >= 6.0); the larger is reported so
 * a group kill is never read as 0.
 */
export function oomKills(dir: string): number {
  const ev = parseKeyed(readText(join(dir, 'memory.events')));
  return Math.max(ev.get('oom_kill') ?? 0, ev.get('oom_group_kill') ?? 0);
}

/** Tasks (threads included) in the cgroup now. */
export function pidsCurrent(dir: string): number {
  return readNumber(join(dir, 'pids.current'));
}

/** cgroup.events: `populated` (any task here or below) and `frozen`. */
export function events(dir: string): { populated: boolean; frozen: boolean } {
  const ev = parseKeyed(readText(join(dir, 'cgroup.events')));
  return { populated: ev.get('populated') === 1, frozen: ev.get('frozen') === 1 };
}

/** SIGKILLs every task in the cgroup and below, atomically with respect to forks (kernel >= 5.14). */
export function kill(dir: string): void {
  writeValue(join(dir, 'cgroup.kill'), '1');
}

/** Freezes (true) or thaws the cgroup (kernel >= 5.2). Frozen v2 tasks still die of SIGKILL. */
export function setFrozen(dir: string, frozen: boolean): void {
  writeValue(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
}

/** Controllers enabled for the children of dir. */
export function subtreeControl(dir: string): string[] {
  return readText(join(dir, 'cgroup.subtree_control')).trim().split(/\s+/).filter((c) => c !== '');
}

/** Controllers available to dir (enabled in its parent's subtree_control). */
export function controllers(dir: string): string[] {
  return (readOptional(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter((c) => c !== '');
}
