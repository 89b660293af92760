// Fast start: the heavy parts (TLS + WebSocket, the SQLite addon, the daemon) load only in the
// commands that need them. Checked on the very bundle the binary is made of (dist/jobctl.cjs), through
// what Node itself recorded as loaded when the command ended: its built-in modules and require.cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO } from '../support/daemon.ts';

const dir = mkdtempSync(join(tmpdir(), 'jobctl-lazy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const probe = join(dir, 'probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => require('fs').writeFileSync(process.env.JOBCTL_PROBE_OUT, JSON.stringify({
    builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)),
    files: Object.keys(require.cache),
  })));`,
);

/** What `jobctl ARGS` (the bundle) had loaded when it exited. */
function loadedBy(args: string[]): { builtins: string[]; files: string[]; status: number | null } {
  const out = join(dir, 'out.json');
  const r = spawnSync(process.execPath, ['--require', probe, join(REPO, 'dist', 'jobctl.cjs'), ...args], {
    env: { ...process.env, JOBCTL_PROBE_OUT: out, JOBCTL_HOME: join(dir, 'home'), JOBCTL_NO_AUTOSTART: '1' },
    encoding: 'utf8',
  });
  return { ...(JSON.parse(readFileSync(out, 'utf8')) as { builtins: string[]; files: string[] }), status: r.status };
}

const HEAVY_BUILTINS = ['tls', 'https', '_tls_wrap', 'zlib', 'child_process'];

for (const args of [['--help'], ['--version'], ['run', '--help'], ['completion', 'bash'], ['service', 'install', '--user', '--print']]) {
  test(`jobctl ${args.join(' ')} loads no TLS, WebSocket, SQLite or process machinery`, () => {
    const { builtins, files, status } = loadedBy(args);
    assert.equal(status, 0);
    assert.deepEqual(HEAVY_BUILTINS.filter((m) => builtins.includes(m)), []);
    assert.deepEqual(files.filter((f) => f.includes('better-sqlite3') || f.endsWith('.node')), []);
  });
}

test('a client command (ps) loads TLS but never the SQLite addon (only the daemon opens the database)', () => {
  const { builtins, files } = loadedBy(['ps']);
  assert.ok(builtins.includes('tls'), 'ps should have tried to connect');
  assert.deepEqual(files.filter((f) => f.includes('better-sqlite3') || f.endsWith('.node')), []);
});
