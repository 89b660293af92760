// Attacks: who may do what, who may connect at all, what leaks between users, what other local users
// can read, and where secrets could end up.
// 1. Every role (admin, user, viewer) × every one of the 15 methods × own/other target, with the side
//    effects of refusals checked (a refused stop leaves the job running, a refused issue/revoke changes
//    no certificate), and subscription numbers that belong to another connection.
// 2. TLS 1.2 and below, no certificate, a foreign CA, a forged CA with the same name, expired,
//    not-yet-valid, revoked, wrong key usage (the daemon's server certificate used as a client), a
//    self-signed "admin" and an unknown role: all refused, live sessions of a revoked user dropped.
// 3. A user receives no byte of another user's logs or events by any path (raw socket capture).
// 4. File modes under umask 000, checked by mode and by reading as the `nobody` user.
// 5. No secret (env values, private keys) in the daemon log, the audit table, or another user's view.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { describe, test, before, after } from 'node:test';
import { Connection } from '../../src/client/connection.ts';
import { createCa, issueClientCert, type IdentityPems } from '../../src/pki/index.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import type { TestDaemon } from '../support/daemon.ts';
import { startTestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { IS_ROOT, adminIdentity, daemonCa, issueIdentity, jsonOf, openRaw, openReadOnly, spec, stopDaemon, type RawClient } from './helpers.ts';

type Who = 'admin' | 'alice' | 'vic';
const ROLE_OF: Record<Who | 'bob', string> = { admin: 'admin', alice: 'user', bob: 'user', vic: 'viewer' };

let d: TestDaemon;
let dir: string;
const pems = {} as Record<Who | 'bob', IdentityPems>;
const conn = {} as Record<Who | 'bob', Connection>;
const SECRET = `s3cr3t-${randomBytes(12).toString('hex')}`;
const BOB_MARKER = `bob-private-${randomBytes(6).toString('hex')}`;
/** Finished jobs of each owner (job.wait answers at once). */
const done = {} as Record<'admin' | 'alice' | 'bob', JobInfo>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jobctl-sec-'));
  // The worst umask a careless service manager could hand over: nothing masked.
  const old = process.umask(0);
  try {
    d = await startTestDaemon({ home: join(dir, 'home') });
  } finally {
    process.umask(old);
  }
  pems.admin = adminIdentity(d);
  for (const [who, role] of [['alice', 'user'], ['bob', 'user'], ['vic', 'viewer']] as const) pems[who] = await issueIdentity(d, who, role, join(dir, who));
  for (const who of ['admin', 'alice', 'bob', 'vic'] as const) conn[who] = await Connection.open(d.endpoint, pems[who]);
  for (const who of ['admin', 'alice', 'bob'] as const) {
    const marker = who === 'bob' ? BOB_MARKER : `${who}-output`;
    const job = await conn[who].call('job.start', spec(['sh', '-c', `echo ${marker}; echo ${marker}-err >&2`], { name: `${who}-done`, env: { SECRET } }));
    done[who] = await conn[who].call('job.wait', { id: job.id });
  }
});
after(async () => {
  for (const c of Object.values(conn)) c?.close();
  await stopDaemon(d);
  rmSync(dir, { recursive: true, force: true });
});

/** 'ok' or the refusal's code. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

const sleeper = (who: 'admin' | 'alice' | 'bob') => conn[who].call('job.start', spec(['sleep', '600'], { name: `${who}-sleeper` }));

describe('role × method × own/other: all 15 methods', () => {
  test('the matrix, with the side effects of every refusal', async () => {
    // own: a job of the caller (a viewer owns none: "own" does not apply); other: a job of bob.
    const ownDone = (w: Who) => (w === 'vic' ? null : done[w]);
    type Row = { method: string; target: 'own' | 'other' | '-'; run: (w: Who) => Promise<string> | null };
    const rows: Row[] = [
      { method: 'session.info', target: '-', run: (w) => outcome(conn[w].call('session.info', {})) },
      { method: 'daemon.info', target: '-', run: (w) => outcome(conn[w].call('daemon.info', {})) },
      { method: 'job.start', target: '-', run: (w) => outcome(conn[w].call('job.start', spec(['true']))) },
      { method: 'job.list', target: 'own', run: (w) => outcome(conn[w].call('job.list', {})) },
      { method: 'job.list', target: 'other', run: (w) => outcome(conn[w].call('job.list', { all: true })) },
      { method: 'job.get', target: 'own', run: (w) => (ownDone(w) ? outcome(conn[w].call('job.get', { id: ownDone(w)!.id })) : null) },
      { method: 'job.get', target: 'other', run: (w) => outcome(conn[w].call('job.get', { id: done.bob.id })) },
      { method: 'job.wait', target: 'own', run: (w) => (ownDone(w) ? outcome(conn[w].call('job.wait', { id: ownDone(w)!.id })) : null) },
      { method: 'job.wait', target: 'other', run: (w) => outcome(conn[w].call('job.wait', { id: done.bob.id })) },
      {
        method: 'job.stop',
        target: 'own',
        run: (w) => (w === 'vic' ? null : sleeper(w).then((j) => outcome(conn[w].call('job.stop', { id: j.id, graceMs: 0 })))),
      },
      {
        method: 'job.stop',
        target: 'other',
        run: async (w) => {
          const victim = await sleeper('bob');
          const got = await outcome(conn[w].call('job.stop', { id: victim.id, graceMs: 0 }));
          const after = await conn.bob.call('job.get', { id: victim.id });
          if (got !== 'ok') {
            assert.equal(after.state, 'running', `${w}'s refused stop left bob's job running`);
            await conn.bob.call('job.stop', { id: victim.id, graceMs: 0 });
          }
          return got;
        },
      },
      { method: 'logs.subscribe', target: 'own', run: (w) => (ownDone(w) ? outcome(conn[w].call('logs.subscribe', { id: ownDone(w)!.id, follow: false })) : null) },
      { method: 'logs.subscribe', target: 'other', run: (w) => outcome(conn[w].call('logs.subscribe', { id: done.bob.id, follow: false })) },
      {
        method: 'logs.unsubscribe',
        target: 'own',
        run: async (w) => {
          const id = ownDone(w)?.id ?? done.bob.id;
          const sub = await conn[w].call('logs.subscribe', { id, follow: true });
          // A finished job's stream may end by itself first: then the number is gone (NOT_FOUND is right).
          const got = await outcome(conn[w].call('logs.unsubscribe', { subscription: sub.subscription }));
          return got === 'NOT_FOUND' ? 'ok' : got;
        },
      },
      {
        method: 'logs.unsubscribe',
        target: 'other',
        run: async (w) => {
          // bob's live subscription number, sent on the caller's connection: not the caller's to end.
          const bobLive = await sleeper('bob');
          const received: Buffer[] = [];
          const s = await conn.bob.streamLogs({ id: bobLive.id, follow: true }, { onChunk: (_s, data) => void received.push(data) });
          const got = await outcome(conn[w].call('logs.unsubscribe', { subscription: s.subscription + 1000 }));
          assert.equal(await Promise.race([s.done, new Promise((r) => setTimeout(() => r('still streaming'), 200))]), 'still streaming', "bob's stream survives");
          await conn.bob.call('job.stop', { id: bobLive.id, graceMs: 0 });
          await s.done;
          return got;
        },
      },
      { method: 'events.subscribe', target: 'own', run: (w) => outcome(conn[w].call('events.subscribe', {})) },
      { method: 'events.subscribe', target: 'other', run: (w) => outcome(conn[w].call('events.subscribe', { all: true })) },
      {
        method: 'events.unsubscribe',
        target: 'own',
        run: async (w) => outcome(conn[w].call('events.unsubscribe', { subscription: (await conn[w].call('events.subscribe', {})).subscription })),
      },
      {
        method: 'events.unsubscribe',
        target: 'other',
        run: async (w) => outcome(conn[w].call('events.unsubscribe', { subscription: (await conn.bob.call('events.subscribe', {})).subscription + 1000 })),
      },
      {
        method: 'certs.issue',
        target: '-',
        run: async (w) => {
          const before = (await conn.admin.call('certs.list', {})).length;
          const got = await outcome(conn[w].call('certs.issue', { user: `made-by-${w}`, role: 'admin' }));
          const after = (await conn.admin.call('certs.list', {})).length;
          assert.equal(after - before, got === 'ok' ? 1 : 0, `certs.issue by ${w} ${got}: certificates recorded`);
          return got;
        },
      },
      { method: 'certs.list', target: '-', run: (w) => outcome(conn[w].call('certs.list', {})) },
      {
        method: 'certs.revoke',
        target: 'other',
        run: async (w) => {
          await conn.admin.call('certs.issue', { user: `victim-of-${w}`, role: 'user' });
          const got = await outcome(conn[w].call('certs.revoke', { user: `victim-of-${w}` }));
          const cert = (await conn.admin.call('certs.list', {})).find((c) => c.user === `victim-of-${w}`);
          assert.equal(cert?.revokedAt !== null, got === 'ok', `certs.revoke by ${w} ${got}: revocation recorded`);
          return got;
        },
      },
      { method: 'audit.list', target: '-', run: (w) => outcome(conn[w].call('audit.list', {})) },
    ];
    const D = 'PERMISSION_DENIED';
    const want: Record<string, [string, string, string]> = {
      //                       admin  user   viewer
      'session.info -': ['ok', 'ok', 'ok'],
      'daemon.info -': ['ok', 'ok', 'ok'],
      'job.start -': ['ok', 'ok', D],
      'job.list own': ['ok', 'ok', 'ok'],
      'job.list other': ['ok', D, 'ok'],
      'job.get own': ['ok', 'ok', 'n/a'],
      'job.get other': ['ok', D, 'ok'],
      'job.wait own': ['ok', 'ok', 'n/a'],
      'job.wait other': ['ok', D, 'ok'],
      'job.stop own': ['ok', 'ok', 'n/a'],
      'job.stop other': ['ok', D, D],
      'logs.subscribe own': ['ok', 'ok', 'n/a'],
      'logs.subscribe other': ['ok', D, 'ok'],
      'logs.unsubscribe own': ['ok', 'ok', 'ok'],
      'logs.unsubscribe other': ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'],
      'events.subscribe own': ['ok', 'ok', 'ok'],
      'events.subscribe other': ['ok', D, 'ok'],
      'events.unsubscribe own': ['ok', 'ok', 'ok'],
      'events.unsubscribe other': ['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND'],
      'certs.issue -': ['ok', D, D],
      'certs.list -': ['ok', D, D],
      'certs.revoke other': ['ok', D, D],
      'audit.list -': ['ok', D, D],
    };
    const mismatches: string[] = [];
    const seen = new Set<string>();
    for (const row of rows) {
      const key = `${row.method} ${row.target}`;
      seen.add(row.method);
      for (const [i, w] of (['admin', 'alice', 'vic'] as const).entries()) {
        const p = row.run(w);
        const got = p === null ? 'n/a' : await p;
        const expected = want[key]?.[i];
        if (got !== expected) mismatches.push(`${w} (${ROLE_OF[w]}) ${key}: expected ${expected}, got ${got}`);
      }
    }
    assert.deepEqual([...seen].sort(), (await import('../../src/rpc/methods.ts')).METHOD_NAMES.slice().sort(), 'every method is in the matrix');
    assert.deepEqual(mismatches, []);
  });
});

describe('who may connect', () => {
  /** Upgrade outcome for an identity: 'open', or the HTTP status and error code. */
  async function tryConnect(p: Partial<IdentityPems>, tls: object = {}): Promise<string> {
    try {
      const c = await openRaw(d.endpoint, p, { tls });
      c.close();
      return 'open';
    } catch (err) {
      const e = err as { status?: number; body?: string; code?: string; message: string };
      if (e.status) return `${e.status} ${(JSON.parse(e.body ?? '{}') as { code?: string }).code}`;
      return `tls ${e.code ?? e.message}`;
    }
  }

  test('TLS 1.2 and below are refused; a good connection is TLS 1.3 with an AEAD suite', async () => {
    const { port } = new URL(d.endpoint.replace('wss:', 'https:'));
    const handshake = (min: string, max: string) =>
      new Promise<string>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: pems.admin.caPem, cert: pems.admin.certPem, key: pems.admin.keyPem, minVersion: min as 'TLSv1', maxVersion: max as 'TLSv1.2', servername: '' });
        s.once('secureConnect', () => {
          const v = `${s.getProtocol()} ${s.getCipher().name}`;
          s.destroy();
          resolve(v);
        });
        s.once('error', (err: NodeJS.ErrnoException) => resolve(`refused ${err.code ?? err.message}`));
      });
    for (const [min, max] of [['TLSv1.2', 'TLSv1.2'], ['TLSv1.1', 'TLSv1.1'], ['TLSv1', 'TLSv1'], ['TLSv1', 'TLSv1.2']]) {
      assert.match(await handshake(min!, max!), /^refused /, `${min}..${max}`);
    }
    assert.match(await handshake('TLSv1.3', 'TLSv1.3'), /^TLSv1\.3 TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)$/);
  });

  test('bad client certificates are refused before anything is served, each with its reason', async () => {
    const ca = daemonCa(d);
    const foreign = createCa({ commonName: 'someone else' });
    const caSubject = (new (await import('node:crypto')).X509Certificate(ca.certPem)).subject.replace(/^CN=/, '');
    const forged = createCa({ commonName: caSubject }); // same name as the daemon's CA, other key
    const day = 86_400_000;
    const viaCa = (c: { certPem: string; keyPem: string }, o: Parameters<typeof issueClientCert>[1]) => {
      const b = issueClientCert(c, o);
      return { caPem: ca.certPem, certPem: b.certPem, keyPem: b.keyPem };
    };
    const serverAsClient = { caPem: ca.certPem, certPem: readFileSync(join(d.home, 'pki', 'server.crt'), 'utf8'), keyPem: readFileSync(join(d.home, 'pki', 'server.key'), 'utf8') };
    const selfSigned = createCa({ commonName: 'root' });
    const cases: Array<[string, Partial<IdentityPems>, RegExp]> = [
      ['no certificate', { caPem: ca.certPem }, /^401 UNAUTHENTICATED$/],
      ['foreign CA', viaCa(foreign, { user: 'root', role: 'admin' }), /^401 UNAUTHENTICATED$/],
      ['forged CA with the same name', viaCa(forged, { user: 'root', role: 'admin' }), /^401 UNAUTHENTICATED$/],
      ['expired', viaCa(ca, { user: 'alice', role: 'admin', testOverrides: { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) } }), /^401 UNAUTHENTICATED$/],
      ['not yet valid', viaCa(ca, { user: 'alice', role: 'admin', testOverrides: { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) } }), /^401 UNAUTHENTICATED$/],
      ['server certificate as client (wrong key usage)', serverAsClient, /^401 UNAUTHENTICATED$/],
      ['client cert with serverAuth only', viaCa(ca, { user: 'alice', role: 'admin', testOverrides: { extKeyUsage: ['serverAuth'] } }), /^401 UNAUTHENTICATED$/],
      ['self-signed "root"/admin', { caPem: ca.certPem, certPem: selfSigned.certPem, keyPem: selfSigned.keyPem }, /^401 UNAUTHENTICATED$/],
      ['unknown role', viaCa(ca, { user: 'alice', role: 'admin', testOverrides: { organization: 'superadmin' } }), /^403 PERMISSION_DENIED$/],
      ['bad user name', viaCa(ca, { user: 'alice', role: 'admin', testOverrides: { commonName: '../../root' } }), /^401 UNAUTHENTICATED$/],
    ];
    const results: string[] = [];
    for (const [what, p, want] of cases) {
      const got = await tryConnect(p);
      if (!want.test(got)) results.push(`${what}: ${got}`);
    }
    assert.deepEqual(results, [], 'every bad certificate refused with its reason');
    // The same refusals on plain HTTPS: nothing but the refusal is served.
    const status = spawnSync('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', d.endpoint.replace('wss:', 'https:')], { encoding: 'utf8' });
    if (status.status === 0) assert.equal(status.stdout, '401', 'HTTPS without a certificate: 401');
  });

  test('revocation: new connections are refused and live sessions dropped at once', async () => {
    const mallory = await issueIdentity(d, 'mallory', 'user', join(dir, 'mallory'));
    const live = await Connection.open(d.endpoint, mallory);
    const dropped = new Promise<string>((resolve) => live.onClose((err) => resolve(err.code)));
    const r = await d.cli(['certs', 'revoke', '--user', 'mallory']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await dropped, 'UNAUTHENTICATED', 'the live session is dropped with the reason');
    assert.equal(await tryConnect(mallory), '403 UNAUTHENTICATED');
  });
});

describe('isolation between users', () => {
  test("no byte of bob's logs or events reaches alice by any path", async () => {
    const raw: RawClient = await openRaw(d.endpoint, pems.alice);
    let n = 0;
    const ask = async (method: string, params: unknown) => {
      raw.send(JSON.stringify({ t: 'req', id: ++n, method, params }));
      return raw.response(n);
    };
    assert.ok(!(await ask('events.subscribe', { usage: true })).error, 'alice subscribes to her own events');
    const allRefused = await ask('events.subscribe', { all: true });
    assert.equal((allRefused.error as { code: string }).code, 'PERMISSION_DENIED');
    // bob works while alice listens: a live job writing his marker, state changes, a stop.
    const live = await conn.bob.call('job.start', spec(['sh', '-c', `while :; do echo ${BOB_MARKER}; sleep 0.02; done`], { name: BOB_MARKER, env: { SECRET } }));
    const tries: Array<[string, unknown]> = [
      ['logs.subscribe', { id: live.id, follow: true }],
      ['logs.subscribe', { id: live.id, follow: false, tailLines: 5 }],
      ['logs.subscribe', { id: live.id, follow: true, afterSeq: 0, streams: ['stdout', 'stderr'] }],
      ['logs.subscribe', { id: done.bob.id, follow: false }],
      ['job.get', { id: live.id }],
      ['job.wait', { id: done.bob.id }],
      ['job.stop', { id: live.id, graceMs: 0 }],
      ['job.list', { all: true }],
    ];
    for (const [method, params] of tries) {
      const res = await ask(method, params);
      assert.equal((res.error as { code: string } | undefined)?.code, 'PERMISSION_DENIED', `${method} ${JSON.stringify(params)}`);
    }
    const own = await ask('job.list', { limit: 10_000 });
    assert.deepEqual([...new Set((own.result as JobInfo[]).map((j) => j.owner))], ['alice']);
    // Alice's own activity meanwhile, so that her subscription demonstrably works.
    const mine = await conn.alice.call('job.start', spec(['sleep', '600']));
    await pollUntil('a job.usage event for alice', () => raw.messages.some((m) => !m.binary && m.json?.event === 'job.usage'), 5000);
    await conn.alice.call('job.stop', { id: mine.id, graceMs: 0 });
    await pollUntil('bob to have written', async () => (await conn.bob.call('job.get', { id: live.id })).log.storedBytes > 100, 5000);
    await conn.bob.call('job.stop', { id: live.id, graceMs: 0 });
    await pollUntil("alice's job.changed for her own job", () => raw.messages.some((m) => !m.binary && m.json?.event === 'job.changed'), 5000);

    const everything = Buffer.concat(raw.messages.map((m) => (m.binary ? m.data : Buffer.from(m.text))));
    for (const secret of [BOB_MARKER, SECRET, `"owner":"bob"`, `"id":${live.id},`]) {
      assert.ok(!everything.includes(secret), `alice never received ${secret}`);
    }
    for (const m of raw.messages) {
      if (!m.binary && m.json?.event === 'job.usage') assert.notEqual((m.json.params as { id: number }).id, live.id);
    }
    raw.close();
    // The CLI as alice shows none of bob's either.
    const ps = await d.cli(['--identity', join(dir, 'alice'), 'ps', '--json']);
    assert.ok(!ps.stdout.includes(BOB_MARKER) && !ps.stdout.includes('"bob"'), 'ps --json as alice');
  });
});

describe('files and secrets', () => {
  test('keys, database and PKI are private (mode and a read as nobody), even under umask 000', () => {
    const home = d.home;
    const pki = join(home, 'pki');
    const mode = (p: string) => statSync(p).mode & 0o777;
    const problems: string[] = [];
    const expect = (p: string, want: number) => {
      if (mode(p) !== want) problems.push(`${p}: ${mode(p).toString(8)} (want ${want.toString(8)})`);
    };
    expect(home, 0o700);
    expect(pki, 0o700);
    expect(join(pki, 'admin'), 0o700);
    for (const f of ['ca.key', 'server.key', join('admin', 'client.key')]) expect(join(pki, f), 0o600);
    for (const f of ['jobctl.db', 'jobctl.db-wal', 'jobctl.db-shm']) expect(join(home, f), 0o600);
    // Whatever else sits in home: nothing readable or writable by others.
    for (const f of readdirSync(home)) if (mode(join(home, f)) & 0o077 && !f.endsWith('.crt')) problems.push(`${f}: ${mode(join(home, f)).toString(8)}`);
    for (const who of ['alice', 'bob', 'vic']) {
      expect(join(dir, who), 0o700);
      expect(join(dir, who, 'client.key'), 0o600);
    }
    assert.deepEqual(problems, []);
    if (IS_ROOT) {
      // Another local user, for real: the home cannot even be entered.
      for (const f of [join(pki, 'ca.key'), join(home, 'jobctl.db'), join(home, 'jobctl.db-wal'), join(dir, 'alice', 'client.key')]) {
        const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', f], { encoding: 'utf8' });
        assert.notEqual(r.status, 0, `nobody can read ${f}`);
        assert.match(r.stderr, /Permission denied/, f);
      }
    }
  });

  test('no secret reaches the daemon log, the audit table or another user', async () => {
    // More secrets, through the CLI too (its env goes along by default) and in a refused call.
    const viaCli = await d.cli(['run', '--env', `SECRET=${SECRET}`, '--', 'sh', '-c', 'test -n "$SECRET"'], { env: { OTHER_SECRET: SECRET } });
    assert.equal(viaCli.code, 0, viaCli.stderr);
    await outcome(conn.vic.call('job.start', spec(['true'], { env: { SECRET } })));
    // Refused by the daemon's own validation (the client library would refuse it first).
    const raw = await openRaw(d.endpoint, pems.alice);
    raw.send(JSON.stringify({ t: 'req', id: 1, method: 'job.start', params: { ...spec(['true'], { env: { SECRET, [`BAD=${SECRET}`]: SECRET } }), cwd: 'relative' } }));
    assert.equal(((await raw.response(1)).error as { code: string }).code, 'INVALID_ARGUMENT');
    raw.close();
    const issued = await conn.admin.call('certs.issue', { user: 'keyholder', role: 'user' });
    const keyLine = issued.keyPem.split('\n')[1]!;
    const caKeyLine = readFileSync(join(d.home, 'pki', 'ca.key'), 'utf8').split('\n')[1]!;
    const adminKeyLine = pems.admin.keyPem.split('\n')[1]!;

    const db = openReadOnly(d.home);
    let auditText: string;
    let certsText: string;
    try {
      auditText = JSON.stringify(db.prepare('SELECT * FROM audit').all());
      certsText = JSON.stringify(db.prepare('SELECT * FROM certs').all());
    } finally {
      db.close();
    }
    const views: Array<[string, string]> = [
      ['daemon log', d.log()],
      ['audit table', auditText],
      ['certs table', certsText],
      ['audit.list', JSON.stringify(await conn.admin.call('audit.list', { limit: 10_000 }))],
      ['ps --json --all as viewer', (await d.cli(['--identity', join(dir, 'vic'), 'ps', '--all', '--json'])).stdout],
      ['ps --json --all as admin', JSON.stringify(jsonOf<unknown>(await d.cli(['ps', '--all', '--json'])))],
      ['status --json as viewer', (await d.cli(['--identity', join(dir, 'vic'), 'status', '--json', String(done.alice.id)])).stdout],
      ['daemon.json', readFileSync(join(d.home, 'daemon.json'), 'utf8')],
    ];
    const leaks: string[] = [];
    for (const [where, text] of views) {
      for (const [what, secret] of [['env value', SECRET], ['issued key', keyLine], ['CA key', caKeyLine], ['admin key', adminKeyLine], ['a PEM key', 'PRIVATE KEY']] as const) {
        if (text.includes(secret)) leaks.push(`${what} in ${where}`);
      }
    }
    assert.deepEqual(leaks, []);
    assert.ok(d.log().length > 1000 && /job\.start/.test(d.log()), 'the daemon log was read (debug level) and has content');
  });
});

describe('resource abuse by an authenticated client', () => {
  test('a client that sends requests but never reads the answers cannot make the daemon buffer without end', async (t) => {
    // A daemon of its own, carrying the memory reporter (mem-report.fixture.ts: a full GC, then its
    // figures, on SIGUSR2), so that what it retains is measured, not garbage V8 has yet to collect.
    const home = join(dir, 'abuse-home');
    const memFile = join(dir, 'abuse-mem.jsonl');
    const reporter = new URL('./mem-report.fixture.js', import.meta.url).pathname;
    const a = await startTestDaemon({ home, env: { NODE_OPTIONS: `--expose-gc --import ${reporter}`, JOBCTL_MEM_REPORT: memFile } });
    t.after(() => stopDaemon(a));
    const memory = async () => {
      const before = existsSync(memFile) ? readFileSync(memFile, 'utf8').length : 0;
      a.process.kill('SIGUSR2');
      await pollUntil('a memory report', () => existsSync(memFile) && readFileSync(memFile, 'utf8').length > before, 5000);
      return JSON.parse(readFileSync(memFile, 'utf8').trim().split('\n').at(-1)!) as { rss: number; heapUsed: number; external: number };
    };
    const admin = await Connection.open(a.endpoint, adminIdentity(a));
    t.after(() => admin.close());
    // Big answers: a page of every job.
    for (let i = 0; i < 40; i++) await admin.call('job.start', spec(['true'], { name: `filler-${i}-${'x'.repeat(100)}` }));
    const one = JSON.stringify(await admin.call('job.list', { all: true, limit: 10_000 })).length;
    const before = await memory();
    const raw = await openRaw(a.endpoint, adminIdentity(a));
    const socket = (raw.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause(); // read nothing from now on
    const total = 6000;
    for (let id = 1; id <= total; id++) {
      raw.send(JSON.stringify({ t: 'req', id, method: 'job.list', params: { all: true, limit: 10_000 } }));
      if (id % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // let the daemon answer as it goes
    }
    await pollUntil('the requests to leave the client', () => raw.ws.bufferedAmount === 0, 10_000);
    // The daemon has served what it will once another connection's call comes back after it settles.
    let last = -1;
    await pollUntil('the daemon to settle', async () => {
      const now = (await memory()).rss;
      const settled = Math.abs(now - last) < 1024 * 1024;
      last = now;
      return settled;
    }, 30_000, 200);
    const held = await memory();
    socket.resume();
    const closed = await Promise.race([raw.closed, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    raw.close();
    const flood = total * one;
    const grown = held.rss - before.rss;
    t.diagnostic(
      `answer=${one} bytes, flood=${(flood / 2 ** 20).toFixed(0)} MiB unread; after GC the daemon's RSS grew ${(grown / 2 ** 20).toFixed(1)} MiB ` +
        `(heapUsed ${(before.heapUsed / 2 ** 20).toFixed(1)} → ${(held.heapUsed / 2 ** 20).toFixed(1)} MiB); close=${closed ? closed.code : 'none'}`,
    );
    // Bounded by the session's 16 MiB cut-off (plus the socket's), not by the size of the flood.
    const heapGrown = held.heapUsed - before.heapUsed;
    assert.ok(heapGrown < 32 * 2 ** 20, `the daemon holds ${(heapGrown / 2 ** 20).toFixed(1)} MiB of a ${(flood / 2 ** 20).toFixed(0)} MiB unread flood`);
    assert.equal(closed?.code, 1008, 'the client is cut off with 1008 (policy), as a slow event reader is');
    assert.equal(a.process.exitCode, null);
  });
});
