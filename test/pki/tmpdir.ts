// A fresh temporary directory per test, removed afterwards.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A new empty directory under the system temp dir, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const once: string[] = [];
process.on('exit', () => once.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A new empty directory for a whole test file, removed when the process exits. */
export function tempDirOnce(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-pki-'));
  once.push(dir);
  return dir;
}

/** The permission bits of path. */
export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}
