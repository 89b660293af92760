import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, rmSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueClientCert } from '../../src/pki/certs.ts';
import { readIdentity, writeIdentity } from '../../src/pki/identity-dir.ts';
import { JobctlError } from '../../src/rpc/errors.ts';
import { modeOf, tempDir } from './tmpdir.ts';

const ca = createCa({ commonName: 'id CA' });
const bob = issueClientCert(ca, { user: 'bob', role: 'user' });
const carol = issueClientCert(ca, { user: 'carol', role: 'user' });
const pems = { caPem: ca.certPem, certPem: bob.certPem, keyPem: bob.keyPem };

const coded = (code: string, re: RegExp) => (e: unknown) => e instanceof JobctlError && e.code === code && re.test(e.message);

test('writeIdentity creates the directory 0700, the key 0600, and nothing else', (t) => {
  const dir = join(tempDir(t), 'nested', 'bob');
  const out = writeIdentity(dir, pems);
  assert.deepEqual(out.files.map((f) => f.slice(dir.length + 1)), ['ca.crt', 'client.crt', 'client.key']);
  assert.equal(modeOf(dir), 0o700);
  assert.equal(modeOf(join(dir, 'client.key')), 0o600);
  assert.equal(modeOf(join(dir, 'client.crt')), 0o644);
  assert.deepEqual(readdirSync(dir).sort(), ['ca.crt', 'client.crt', 'client.key'], 'no temp files left');
  assert.deepEqual(readIdentity(dir), pems);
});

test('writeIdentity keeps the key 0600 whatever the umask', (t) => {
  const dir = tempDir(t);
  const old = process.umask(0o000);
  try {
    writeIdentity(join(dir, 'id'), pems);
  } finally {
    process.umask(old);
  }
  assert.equal(modeOf(join(dir, 'id', 'client.key')), 0o600);
});

test('writeIdentity refuses to replace an identity unless asked', (t) => {
  const dir = tempDir(t);
  writeIdentity(dir, pems);
  assert.throws(() => writeIdentity(dir, { ...pems, certPem: carol.certPem, keyPem: carol.keyPem }), coded('CONFLICT', /already holds an identity .*client\.key.*choose another directory/));
  writeIdentity(dir, { ...pems, certPem: carol.certPem, keyPem: carol.keyPem }, { overwrite: true });
  assert.equal(readIdentity(dir).certPem, carol.certPem);
});

test('an existing directory keeps its mode (it may be one the user chose)', (t) => {
  const dir = join(tempDir(t), 'mine');
  mkdirSync(dir);
  chmodSync(dir, 0o750);
  writeIdentity(dir, pems);
  assert.equal(modeOf(dir), 0o750);
  assert.equal(modeOf(join(dir, 'client.key')), 0o600);
});

test('readIdentity names the missing file and what an identity directory holds', (t) => {
  const dir = tempDir(t);
  assert.throws(() => readIdentity(dir), coded('NOT_FOUND', /ca\.crt does not exist: an identity directory holds ca\.crt, client\.crt and client\.key/));
  writeIdentity(dir, pems);
  rmSync(join(dir, 'client.key'));
  assert.throws(() => readIdentity(dir), coded('NOT_FOUND', /client\.key does not exist/));
  assert.throws(() => readIdentity(join(dir, 'nope')), coded('NOT_FOUND', /nope\/ca\.crt does not exist/));
});

test('readIdentity refuses bad content, naming the file', (t) => {
  const dir = tempDir(t);
  writeIdentity(dir, pems);
  writeFileSync(join(dir, 'client.key'), carol.keyPem);
  assert.throws(() => readIdentity(dir), coded('INVALID_ARGUMENT', /client\.key is not the key of .*client\.crt/));
  writeFileSync(join(dir, 'client.key'), 'garbage');
  assert.throws(() => readIdentity(dir), coded('INVALID_ARGUMENT', /client\.key is not a PEM private key/));
  writeFileSync(join(dir, 'client.crt'), 'garbage');
  assert.throws(() => readIdentity(dir), coded('INVALID_ARGUMENT', /client\.crt is not a PEM certificate/));
  writeFileSync(join(dir, 'ca.crt'), '');
  assert.throws(() => readIdentity(dir), coded('INVALID_ARGUMENT', /ca\.crt is not a PEM certificate/));
});
