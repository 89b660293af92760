// The test daemon helper itself: a daemon given its own NODE_OPTIONS keeps the run's (the Node 24 run
// preloads its SQLite addon that way), and a daemon that cannot start fails the test at once, with its
// reason, instead of after the 20 s wait for daemon.json.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childEnv, startTestDaemon } from './daemon.ts';

test('childEnv adds NODE_OPTIONS flags to the inherited ones instead of replacing them', () => {
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = '--require /run/preload.cjs';
  try {
    const env = childEnv({ NODE_OPTIONS: '--expose-gc', OTHER: '1' });
    assert.equal(env.NODE_OPTIONS, '--require /run/preload.cjs --expose-gc');
    assert.equal(env.OTHER, '1');
    assert.equal(childEnv({}).NODE_OPTIONS, '--require /run/preload.cjs');
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
});

test("a daemon started with NODE_OPTIONS of its own still carries the run's", async () => {
  const d = await startTestDaemon({ env: { NODE_OPTIONS: '--expose-gc' } });
  try {
    const environ = readFileSync(`/proc/${d.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`NODE_OPTIONS=${[process.env.NODE_OPTIONS, '--expose-gc'].filter(Boolean).join(' ')}`), environ.filter((v) => v.startsWith('NODE_OPTIONS=')).join());
  } finally {
    await d.stop();
  }
});

test('a daemon that cannot start fails startTestDaemon at once, with its reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-support-'));
  try {
    const notADirectory = join(dir, 'home');
    writeFileSync(notADirectory, '');
    // Only the early exit says "exited … before it was ready" (the 20 s deadline says "timed out").
    await assert.rejects(startTestDaemon({ home: notADirectory }), /the daemon exited \(1\) before it was ready: .*jobctl:/s);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
