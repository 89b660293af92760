// Which whole disk holds a directory: io limits are set per block device (MAJ:MIN) and the
// throttle only acts on whole disks, so a partition is mapped to its parent disk via sysfs.

import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { invalidArgument } from '../rpc/errors.ts';
import { exists } from './files.ts';
import { parseMountinfo } from './mountinfo.ts';

/** A device number. */
export interface DeviceNumber {
  major: number;
  minor: number;
}

/** The disk an io limit targets, or why there is none. */
export type DiskLookup =
  | { ok: true; disk: DeviceNumber; /** The filesystem's own device (a partition, or the disk itself). */ device: DeviceNumber }
  | { ok: false; reason: string; device: DeviceNumber; fsType: string | null };

/** Splits a dev_t the way glibc's gnu_dev_major/minor do (12-bit major, 20-bit minor, split encoding). */
export function decodeDev(dev: bigint): DeviceNumber {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/** "254:0" → {254, 0}; null if malformed. */
export function parseDeviceNumber(text: string): DeviceNumber | null {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/**
 * The whole disk for a block device, from sysfs under root: /sys/dev/block/M:m exists only for block
 * devices; a partition has a `partition` file and its parent directory is the disk (with its own `dev`).
 * Null when dev is not a block device (tmpfs, overlay, NFS: major 0).
 */
export function wholeDisk(root: string, dev: DeviceNumber): DeviceNumber | null {
  const sys = join(root, 'sys/dev/block', `${dev.major}:${dev.minor}`);
  if (!exists(sys)) return null;
  if (!exists(join(sys, 'partition'))) return dev;
  try {
    return parseDeviceNumber(readFileSync(join(dirname(realpathSync(sys)), 'dev'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Finds the whole disk holding cwd. Filesystems like btrfs report an anonymous st_dev (0:N); for them
 * the mount's source device (from mountinfo) is used when it is a block device.
 */
export function diskForPath(root: string, cwd: string, mountinfo: string): DiskLookup {
  let dev: DeviceNumber;
  try {
    const st = statSync(cwd, { bigint: true });
    if (!st.isDirectory()) throw invalidArgument('cwd', cwd, 'a directory on the daemon host');
    dev = decodeDev(st.dev);
  } catch (err) {
    if (err instanceof Error && err.name === 'JobctlError') throw err;
    throw invalidArgument('cwd', cwd, 'an existing directory on the daemon host');
  }
  const direct = wholeDisk(root, dev);
  if (direct) return { ok: true, disk: direct, device: dev };

  // The last mount of this device is the visible one.
  const mount = parseMountinfo(mountinfo).filter((m) => m.major === dev.major && m.minor === dev.minor).at(-1);
  if (mount && mount.source.startsWith('/')) {
    try {
      const src = statSync(join(root, mount.source), { bigint: true });
      if (src.isBlockDevice()) {
        const disk = wholeDisk(root, decodeDev(src.rdev));
        if (disk) return { ok: true, disk, device: dev };
      }
    } catch {
      // not a usable device node: fall through to the refusal
    }
  }
  const fsType = mount?.fsType ?? null;
  return {
    ok: false,
    device: dev,
    fsType,
    reason: `the filesystem holding cwd ${JSON.stringify(cwd)} is ${fsType ?? 'of unknown type'} (device ${dev.major}:${dev.minor}), which has no block device to throttle`,
  };
}
