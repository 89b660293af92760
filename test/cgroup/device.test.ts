// cwd → whole-disk MAJ:MIN: dev_t decoding, partition → disk through a fixture sysfs, refusal of
// filesystems without a block device, and the mountinfo fallback for anonymous st_dev (btrfs).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeDev, diskForPath, wholeDisk } from '../../src/cgroup/device.ts';
import { tempDir, writeTree } from './helpers.ts';

/** A fixture sysfs: sda (8:0) with partition sda1 (8:1), nvme0n1 (259:0) with p2 (259:2), vda (254:0) a whole disk. */
function sysfs(root: string): void {
  writeTree(root, {
    'sys/devices/pci0000:00/ata1/block/sda/dev': '8:0\n',
    'sys/devices/pci0000:00/ata1/block/sda/sda1/dev': '8:1\n',
    'sys/devices/pci0000:00/ata1/block/sda/sda1/partition': '1\n',
    'sys/devices/pci0000:00/nvme/nvme0/nvme0n1/dev': '259:0\n',
    'sys/devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p2/dev': '259:2\n',
    'sys/devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p2/partition': '2\n',
    'sys/devices/virtio1/block/vda/dev': '254:0\n',
  });
  mkdirSync(join(root, 'sys/dev/block'), { recursive: true });
  // Relative links, as the kernel makes them.
  symlinkSync('../../devices/pci0000:00/ata1/block/sda', join(root, 'sys/dev/block/8:0'));
  symlinkSync('../../devices/pci0000:00/ata1/block/sda/sda1', join(root, 'sys/dev/block/8:1'));
  symlinkSync('../../devices/pci0000:00/nvme/nvme0/nvme0n1/nvme0n1p2', join(root, 'sys/dev/block/259:2'));
  symlinkSync('../../devices/virtio1/block/vda', join(root, 'sys/dev/block/254:0'));
}

describe('decodeDev', () => {
  test('glibc encoding: small and large majors/minors', () => {
    assert.deepEqual(decodeDev(0xfe00n), { major: 254, minor: 0 });
    assert.deepEqual(decodeDev(0x801n), { major: 8, minor: 1 });
    assert.deepEqual(decodeDev(0x1bn), { major: 0, minor: 27 });
    // major 259, minor 300: minor's high bits go to bits 12..31, major's low 12 bits to 8..19.
    const dev = (259n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n);
    assert.deepEqual(decodeDev(dev), { major: 259, minor: 300 });
  });

  test('matches stat(1) for a real directory', () => {
    const st = statSync('/', { bigint: true });
    const d = decodeDev(st.dev);
    assert.equal(Number(st.dev), (d.major << 8) | (d.minor & 0xff) | ((d.minor & ~0xff) << 12));
  });
});

describe('wholeDisk', () => {
  test('a partition maps to its parent disk; a whole disk to itself; no sysfs entry → null', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    sysfs(root);
    assert.deepEqual(wholeDisk(root, { major: 8, minor: 1 }), { major: 8, minor: 0 });
    assert.deepEqual(wholeDisk(root, { major: 259, minor: 2 }), { major: 259, minor: 0 });
    assert.deepEqual(wholeDisk(root, { major: 8, minor: 0 }), { major: 8, minor: 0 });
    assert.deepEqual(wholeDisk(root, { major: 254, minor: 0 }), { major: 254, minor: 0 });
    assert.equal(wholeDisk(root, { major: 0, minor: 27 }), null);
  });
});

describe('diskForPath', () => {
  test('a directory on a disk filesystem (the real /tmp) resolves to a whole disk in the real sysfs', (t) => {
    const dev = decodeDev(statSync('/tmp', { bigint: true }).dev);
    if (dev.major === 0) return t.skip('/tmp is not on a block device here');
    const r = diskForPath('/', '/tmp', '');
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual(r.device, dev);
    assert.ok(existsSync(`/sys/dev/block/${r.disk.major}:${r.disk.minor}`));
    assert.equal(existsSync(`/sys/dev/block/${r.disk.major}:${r.disk.minor}/partition`), false, 'a whole disk, not a partition');
  });

  test('tmpfs: refused with a reason naming cwd, the filesystem type and the device', (t) => {
    const shm = '/dev/shm';
    if (!existsSync(shm)) return t.skip('no /dev/shm');
    const dev = decodeDev(statSync(shm, { bigint: true }).dev);
    if (dev.major !== 0) return t.skip('/dev/shm is not an anonymous-device filesystem here');
    const mountinfo = `25 24 ${dev.major}:${dev.minor} / /dev/shm rw,relatime - tmpfs tmpfs rw\n`;
    const r = diskForPath('/', shm, mountinfo);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.fsType, 'tmpfs');
      assert.equal(r.reason, `the filesystem holding cwd "/dev/shm" is tmpfs (device 0:${dev.minor}), which has no block device to throttle`);
    }
  });

  test('anonymous st_dev (btrfs-like) falls back to the mount source device', (t) => {
    const { dir: root, cleanup } = tempDir();
    t.after(cleanup);
    sysfs(root);
    const shm = '/dev/shm';
    if (!existsSync('/dev/vda') || !statSync('/dev/vda').isBlockDevice() || !existsSync(shm)) return t.skip('needs /dev/vda and /dev/shm');
    const vda = decodeDev(statSync('/dev/vda', { bigint: true }).rdev);
    const dev = decodeDev(statSync(shm, { bigint: true }).dev);
    mkdirSync(join(root, 'dev'));
    symlinkSync('/dev/vda', join(root, 'dev/vda'));
    const mountinfo = `25 24 ${dev.major}:${dev.minor} / /dev/shm rw - btrfs /dev/vda rw\n`;
    const r = diskForPath(root, shm, mountinfo);
    assert.deepEqual(r.ok ? r.disk : r.reason, vda.major === 254 ? { major: 254, minor: 0 } : vda);
  });

  test('a missing cwd is INVALID_ARGUMENT naming it', () => {
    assert.throws(() => diskForPath('/', '/nonexistent/dir', ''), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /"\/nonexistent\/dir"/);
      return true;
    });
  });
});
