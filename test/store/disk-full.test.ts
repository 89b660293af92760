// A real full disk: a 16 MiB tmpfs. Needs root (mount); skipped otherwise — the injected-failure
// tests in log-writer.test.ts cover the accounting everywhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, type Store } from '../../src/store/index.ts';
import { addJob, chunkBytes, collect, nextTurn } from './helpers.ts';

/** Mounts a size-limited tmpfs at dir; false when this process may not. */
function mountTmpfs(dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the file system with one file until ENOSPC; returns its path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

test('a real full disk: the writer drops and counts, never throws, and resumes when space returns', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-store-'));
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const mounted = mountTmpfs(mnt, '16m');
  let store: Store | undefined;
  // One hook, in this order: close, unmount, remove (after hooks run first-registered first).
  t.after(() => {
    try {
      store?.close();
    } finally {
      if (mounted) execFileSync('umount', ['-l', mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  if (!mounted) {
    t.skip('cannot mount a tmpfs here (needs root)');
    return;
  }
  const errors: unknown[] = [];
  store = openStore(join(mnt, 'jobctl.db'), { onLogWriteError: (_id, err) => errors.push(err) });
  const { id } = addJob(store);
  const w = store.logs.writer(id);

  const filler = fillUp(mnt);
  // Leave about 2 MiB: some output fits, then the disk is full.
  execFileSync('truncate', ['-s', '-2M', filler]);
  const piece = (i: number): Buffer => Buffer.alloc(256 * 1024, `piece ${i};`);
  let written = 0;
  let i = 0;
  for (; i < 40; i++) {
    assert.doesNotThrow(() => w.append(1, piece(i)));
    written += 256 * 1024;
    await nextTurn();
  }
  assert.ok(w.committedSeq > 0, 'something fitted before the disk filled');
  assert.ok(w.droppedBytes > 0, 'the rest was dropped');
  assert.ok(errors.length > 0);
  const codes = [...new Set(errors.map((e) => (e as { code?: string }).code))];
  t.diagnostic(`while full: stored ${w.storedBytes}, dropped ${w.droppedBytes}, errors ${errors.length} (${codes.join(', ')}), free ${statfsSync(mnt).bavail * statfsSync(mnt).bsize} bytes`);
  assert.ok(codes.every((c) => c?.startsWith('SQLITE_FULL') || c?.startsWith('SQLITE_IOERR')), `error codes ${codes.join(', ')}`);

  // Space returns.
  rmSync(filler);
  const seqBefore = w.committedSeq;
  for (let k = 0; k < 4; k++, i++) {
    w.append(2, piece(i));
    written += 256 * 1024;
    await nextTurn();
  }
  w.close();
  assert.ok(w.committedSeq > seqBefore, 'writing resumed');
  const row = store.jobs.get(id);
  assert.ok(row);
  assert.equal(row.logDroppedBytes, w.droppedBytes, 'the row counts every dropped byte');
  assert.equal(row.logStoredBytes + row.logDroppedBytes, written);
  assert.match(row.logDropReason ?? '', /^disk full: /, 'the reason stays recorded');
  assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');

  const items = await collect(store.logs.follow(id));
  const gapBytes = items.reduce((n, it) => n + (it.kind === 'gap' ? it.droppedBytes : 0), 0);
  assert.equal(gapBytes, row.logDroppedBytes, 'followers are told exactly what is missing');
  for (const it of items) if (it.kind === 'gap') assert.match(it.reason, /^disk full: /);
  assert.equal(chunkBytes(items).length, row.logStoredBytes);
});
