// The CLI's TLS session ticket cache, on real files: where tickets go, who may read them, which
// identity a ticket belongs to, and that expired ones are removed. (Resumption itself, and that a
// resumed session is still refused for a revoked or expired certificate, is tested against a real
// daemon in test/cli/tls.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSession, loadSession, saveSession, sessionFile } from '../../src/client/tls-sessions.ts';
import { SESSION_TICKET_SECONDS } from '../../src/pki/tls.ts';

const identity = { caPem: 'CA-1', certPem: 'CERT-1' };

test('one ticket file per endpoint, CA and client certificate, under XDG_CACHE_HOME', () => {
  const env = { XDG_CACHE_HOME: '/somewhere/cache' };
  const file = sessionFile('wss://127.0.0.1:7000', identity, env);
  assert.match(file ?? '', /^\/somewhere\/cache\/jobctl\/tls-sessions\/[0-9a-f]{32}\.session$/);
  assert.equal(sessionFile('wss://127.0.0.1:7000', { ...identity }, env), file, 'stable');
  const others = [
    sessionFile('wss://127.0.0.1:7001', identity, env),
    sessionFile('wss://127.0.0.1:7000', { ...identity, caPem: 'CA-2' }, env),
    sessionFile('wss://127.0.0.1:7000', { ...identity, certPem: 'CERT-2' }, env),
  ];
  assert.equal(new Set([file, ...others]).size, 4, 'endpoint, CA and certificate each change the file');
  assert.match(sessionFile('wss://h:1', identity, { HOME: '/home/u' }) ?? '', /\/\.cache\/jobctl\/tls-sessions\//, 'else ~/.cache');
});

test('saved 0600 in a 0700 directory, read back, dropped; expired neighbours are removed', (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'jobctl-sessions-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const file = sessionFile('wss://127.0.0.1:7000', identity, { XDG_CACHE_HOME: cache }) as string;
  const dir = join(file, '..');
  assert.equal(loadSession(file), undefined, 'no ticket yet');

  saveSession(file, Buffer.from('ticket-1'));
  assert.equal(loadSession(file)?.toString(), 'ticket-1');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);

  // Two neighbours: one past the ticket lifetime, one within it.
  const old = join(dir, 'old.session');
  const fresh = join(dir, 'fresh.session');
  writeFileSync(old, 'x');
  writeFileSync(fresh, 'y');
  const past = (Date.now() - (SESSION_TICKET_SECONDS + 60) * 1000) / 1000;
  utimesSync(old, past, past);
  saveSession(file, Buffer.from('ticket-2'));
  assert.equal(loadSession(file)?.toString(), 'ticket-2', 'replaced');
  assert.deepEqual(readdirSync(dir).sort(), [file.split('/').pop(), 'fresh.session'].sort(), 'the expired ticket is gone, nothing half-written is left');
  assert.ok(existsSync(fresh));

  dropSession(file);
  assert.equal(loadSession(file), undefined);
});

test('an unwritable cache costs nothing but the ticket', (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'jobctl-sessions-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  // A file where the directory should be: mkdir fails, saveSession returns quietly.
  writeFileSync(join(cache, 'jobctl'), 'not a directory');
  const file = sessionFile('wss://127.0.0.1:7000', identity, { XDG_CACHE_HOME: cache }) as string;
  assert.doesNotThrow(() => saveSession(file, Buffer.from('t')));
  assert.equal(loadSession(file), undefined);
});
