// bin/jobctl's V8 code cache: it speeds commands up, so it must never change what they do. Checked on a
// copy of bin/jobctl + dist/jobctl.cjs in a temp dir (the repo's own dist/code-cache is shared with
// every other test), through what a user sees: the output, and the cache files on disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO } from '../support/daemon.ts';

const root = mkdtempSync(join(tmpdir(), 'jobctl-code-cache-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'bin'));
mkdirSync(join(root, 'dist'));
copyFileSync(join(REPO, 'bin', 'jobctl'), join(root, 'bin', 'jobctl'));
copyFileSync(join(REPO, 'dist', 'jobctl.cjs'), join(root, 'dist', 'jobctl.cjs'));
const cacheDir = join(root, 'dist', 'code-cache');
const userCache = join(root, 'xdg-cache');

function jobctl(args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'jobctl'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: userCache, JOBCTL_NO_AUTOSTART: '1', NODE_OPTIONS: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}
const cacheFiles = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

test('the first run of a command writes its cache beside the bundle; the next run uses it unchanged', () => {
  const version = jobctl(['--version']);
  const [file, ...more] = cacheFiles(cacheDir);
  assert.ok(file !== undefined && file.endsWith('-none.v8cache'), `one cache for "no command" expected, got ${JSON.stringify(cacheFiles(cacheDir))}`);
  assert.deepEqual(more, []);
  const written = statSync(join(cacheDir, file)).mtimeMs;
  assert.equal(jobctl(['--version']), version);
  assert.equal(statSync(join(cacheDir, file)).mtimeMs, written, 'an accepted cache is not rewritten');
  jobctl(['--home', join(root, 'home'), 'completion', 'bash']);
  assert.ok(cacheFiles(cacheDir).some((f) => f.endsWith('-completion.v8cache')), 'each command has its own cache (global options skipped)');
});

test('a damaged cache is rejected by V8, the command still answers, and the cache is written anew', () => {
  const file = cacheFiles(cacheDir).find((f) => f.endsWith('-none.v8cache'));
  assert.ok(file);
  const path = join(cacheDir, file);
  const good = readFileSync(path);
  writeFileSync(path, Buffer.concat([good.subarray(0, 64), Buffer.alloc(good.length - 64, 0x5a)]));
  assert.match(jobctl(['--version']), /^\d+\.\d+\.\d+/);
  assert.notEqual(readFileSync(path).subarray(64, 128).toString('hex'), '5a'.repeat(64), 'the damaged cache was replaced');
});

test('a changed bundle of the same length and mtime (as npm installs it) never runs the old cached code', () => {
  const bundlePath = join(root, 'dist', 'jobctl.cjs');
  const before = jobctl(['--version']).trim();
  const changed = before.replace(/\d/, (d) => String((Number(d) + 1) % 10));
  assert.equal(changed.length, before.length);
  const bundle = readFileSync(bundlePath, 'utf8');
  const { atime, mtime } = statSync(bundlePath);
  assert.ok(bundle.includes(JSON.stringify(before)), 'the version string is in the bundle');
  writeFileSync(bundlePath, bundle.replaceAll(JSON.stringify(before), JSON.stringify(changed)));
  utimesSync(bundlePath, atime, mtime);
  assert.equal(statSync(bundlePath).size, Buffer.byteLength(bundle));
  assert.equal(jobctl(['--version']).trim(), changed);
});

test('where the bundle directory cannot hold the cache, the user cache directory is used', () => {
  rmSync(cacheDir, { recursive: true, force: true });
  writeFileSync(cacheDir, 'not a directory');
  jobctl(['--version']);
  assert.ok(cacheFiles(join(userCache, 'jobctl', 'code-cache')).some((f) => f.endsWith('-none.v8cache')));
  const [again] = cacheFiles(join(userCache, 'jobctl', 'code-cache'));
  const written = statSync(join(userCache, 'jobctl', 'code-cache', again as string)).mtimeMs;
  jobctl(['--version']);
  assert.equal(statSync(join(userCache, 'jobctl', 'code-cache', again as string)).mtimeMs, written, 'found there next time');
});
