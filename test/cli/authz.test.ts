// Authorization end to end: identities issued with `jobctl certs issue` for two users and a viewer,
// then the role × method × own/other matrix through the client library, event and log isolation
// between users (no path leaks another user's job or bytes), the CLI's refusals, and the audit trail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.ts';
import type { IdentityPems } from '../../src/pki/index.ts';
import { METHODS, METHOD_NAMES } from '../../src/rpc/methods.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import type { AuditEntry, JobChangedEvent, JobUsageEvent } from '../../src/rpc/results.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';
import { adminIdentity, assertExit, errorOf, issueIdentity, jsonOf, openRaw, rejectsWith, spec, startJob } from './helpers.ts';

let d: TestDaemon;
let dir: string;
const ids: Record<'alice' | 'bob' | 'vic', string> = { alice: '', bob: '', vic: '' };
const pems = {} as Record<'admin' | 'alice' | 'bob' | 'vic', IdentityPems>;
const conn = {} as Record<'admin' | 'alice' | 'bob' | 'vic', Connection>;
/** Long-running jobs of each owner, and finished ones (job.wait answers those at once). */
const running = {} as Record<'admin' | 'alice' | 'bob', JobInfo>;
const done = {} as Record<'admin' | 'alice' | 'bob', JobInfo>;
const testStart = Date.now();

before(async () => {
  d = await startTestDaemon();
  dir = mkdtempSync(join(tmpdir(), 'jobctl-authz-'));
  for (const [user, role] of [['alice', 'user'], ['bob', 'user'], ['vic', 'viewer']] as const) {
    ids[user] = join(dir, user);
    pems[user] = await issueIdentity(d, user, role, ids[user]);
  }
  pems.admin = adminIdentity(d);
  for (const who of ['admin', 'alice', 'bob', 'vic'] as const) conn[who] = await Connection.open(d.endpoint, pems[who]);
  for (const who of ['admin', 'alice', 'bob'] as const) {
    running[who] = await startJob(conn[who], ['sleep', '600'], { name: `${who}-sleeper` });
    done[who] = await conn[who].call('job.wait', { id: (await startJob(conn[who], ['sh', '-c', `echo ${who}-output`])).id });
  }
});
after(async () => {
  for (const c of Object.values(conn)) c?.close();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(await d.stop(), 0);
});

type Who = 'admin' | 'alice' | 'vic';
type Target = 'own' | 'other' | 'none';
type Case = { method: string; target: Target; call: (c: Connection, who: Who, target: Target) => Promise<unknown> };

/** A job of the target kind for caller who: its own, or another user's (bob's). */
function jobFor(who: Who, target: Target, kind: 'running' | 'done'): JobInfo {
  const pool = kind === 'running' ? running : done;
  if (target === 'other') return pool.bob;
  return who === 'vic' ? pool.alice : pool[who];
}

const CASES: Case[] = [
  { method: 'session.info', target: 'none', call: (c) => c.call('session.info', {}) },
  { method: 'daemon.info', target: 'none', call: (c) => c.call('daemon.info', {}) },
  { method: 'job.start', target: 'none', call: (c) => c.call('job.start', spec(['true'])) },
  { method: 'job.list --all', target: 'other', call: (c) => c.call('job.list', { all: true }) },
  { method: 'job.get', target: 'own', call: (c, w, t) => c.call('job.get', { id: jobFor(w, t, 'running').id }) },
  { method: 'job.get', target: 'other', call: (c, w, t) => c.call('job.get', { id: jobFor(w, t, 'running').id }) },
  { method: 'job.wait', target: 'own', call: (c, w, t) => c.call('job.wait', { id: jobFor(w, t, 'done').id }) },
  { method: 'job.wait', target: 'other', call: (c, w, t) => c.call('job.wait', { id: jobFor(w, t, 'done').id }) },
  { method: 'logs.subscribe', target: 'own', call: (c, w, t) => c.call('logs.subscribe', { id: jobFor(w, t, 'done').id, follow: false }) },
  { method: 'logs.subscribe', target: 'other', call: (c, w, t) => c.call('logs.subscribe', { id: jobFor(w, t, 'done').id, follow: false }) },
  { method: 'logs.subscribe --tail', target: 'other', call: (c, w, t) => c.call('logs.subscribe', { id: jobFor(w, t, 'done').id, follow: true, tailLines: 1 }) },
  { method: 'logs.subscribe afterSeq', target: 'other', call: (c, w, t) => c.call('logs.subscribe', { id: jobFor(w, t, 'done').id, follow: false, afterSeq: 0, streams: ['stdout'] }) },
  { method: 'events.subscribe', target: 'own', call: (c) => c.call('events.subscribe', {}) },
  { method: 'events.subscribe --all', target: 'other', call: (c) => c.call('events.subscribe', { all: true }) },
  // job.stop targets a fresh job each time (a refusal leaves it running; checked below).
  { method: 'job.stop', target: 'own', call: async (c, w) => c.call('job.stop', { id: (await startJob(w === 'vic' ? conn.alice : c, ['sleep', '600'])).id, graceMs: 0 }) },
  { method: 'job.stop', target: 'other', call: async (c) => c.call('job.stop', { id: (await startJob(conn.bob, ['sleep', '600'])).id, graceMs: 0 }) },
  { method: 'certs.list', target: 'none', call: (c) => c.call('certs.list', {}) },
  { method: 'certs.issue', target: 'none', call: (c) => c.call('certs.issue', { user: 'mallory', role: 'admin' }) },
  { method: 'certs.revoke', target: 'other', call: (c) => c.call('certs.revoke', { user: 'nobody-issued' }) },
  { method: 'audit.list', target: 'none', call: (c) => c.call('audit.list', {}) },
];

// 'ok' or the code of the refusal. certs.revoke of an unknown user is NOT_FOUND for an admin: allowed, then not found.
const EXPECTED: Record<Who, Record<string, string>> = {
  admin: Object.fromEntries(CASES.map((c) => [`${c.method}/${c.target}`, c.method === 'certs.revoke' ? 'NOT_FOUND' : 'ok'])),
  alice: {
    'session.info/none': 'ok', 'daemon.info/none': 'ok', 'job.start/none': 'ok', 'job.list --all/other': 'PERMISSION_DENIED',
    'job.get/own': 'ok', 'job.get/other': 'PERMISSION_DENIED', 'job.wait/own': 'ok', 'job.wait/other': 'PERMISSION_DENIED',
    'logs.subscribe/own': 'ok', 'logs.subscribe/other': 'PERMISSION_DENIED', 'logs.subscribe --tail/other': 'PERMISSION_DENIED',
    'logs.subscribe afterSeq/other': 'PERMISSION_DENIED', 'events.subscribe/own': 'ok', 'events.subscribe --all/other': 'PERMISSION_DENIED',
    'job.stop/own': 'ok', 'job.stop/other': 'PERMISSION_DENIED', 'certs.list/none': 'PERMISSION_DENIED', 'certs.issue/none': 'PERMISSION_DENIED',
    'certs.revoke/other': 'PERMISSION_DENIED', 'audit.list/none': 'PERMISSION_DENIED',
  },
  vic: {
    'session.info/none': 'ok', 'daemon.info/none': 'ok', 'job.start/none': 'PERMISSION_DENIED', 'job.list --all/other': 'ok',
    'job.get/own': 'ok', 'job.get/other': 'ok', 'job.wait/own': 'ok', 'job.wait/other': 'ok',
    'logs.subscribe/own': 'ok', 'logs.subscribe/other': 'ok', 'logs.subscribe --tail/other': 'ok', 'logs.subscribe afterSeq/other': 'ok',
    'events.subscribe/own': 'ok', 'events.subscribe --all/other': 'ok', 'job.stop/own': 'PERMISSION_DENIED', 'job.stop/other': 'PERMISSION_DENIED',
    'certs.list/none': 'PERMISSION_DENIED', 'certs.issue/none': 'PERMISSION_DENIED', 'certs.revoke/other': 'PERMISSION_DENIED',
    'audit.list/none': 'PERMISSION_DENIED',
  },
};

describe('role × method × own/other', () => {
  for (const who of ['admin', 'alice', 'vic'] as const) {
    test(`${who} (${who === 'admin' ? 'admin' : who === 'alice' ? 'user' : 'viewer'})`, async () => {
      // Every case is checked and all mismatches reported together.
      const mismatches: string[] = [];
      for (const c of CASES) {
        const key = `${c.method}/${c.target}`;
        const want = EXPECTED[who][key];
        assert.ok(want, `the matrix has ${who} ${key}`);
        let got = 'ok';
        try {
          await c.call(conn[who], who, c.target);
        } catch (err) {
          got = (err as { code?: string }).code ?? String(err);
          if (got === 'PERMISSION_DENIED') assert.match((err as Error).message, /role|another user|belongs/, `${who} ${key}: the refusal says why`);
        }
        if (got !== want) mismatches.push(`${who} ${key}: expected ${want}, got ${got}`);
      }
      assert.deepEqual(mismatches, []);
    });
  }

  test('refused stops leave the job running', async () => {
    const victim = await startJob(conn.bob, ['sleep', '600']);
    await rejectsWith(conn.alice.call('job.stop', { id: victim.id, graceMs: 0 }), 'PERMISSION_DENIED', 'alice stops bob');
    await rejectsWith(conn.vic.call('job.stop', { id: victim.id, graceMs: 0 }), 'PERMISSION_DENIED', 'vic stops bob');
    assert.equal((await conn.bob.call('job.get', { id: victim.id })).state, 'running');
    assert.equal((await conn.admin.call('job.stop', { id: victim.id, graceMs: 0 })).state, 'stopped', 'an admin may stop anyone');
  });

  test('job.list never shows a user the jobs of others', async () => {
    for (const query of [{}, { states: ['running' as const] }, { limit: 10_000 }, { states: ['exited' as const, 'stopped' as const, 'failed' as const] }]) {
      const jobs = await conn.alice.call('job.list', query);
      assert.ok(jobs.length > 0, 'alice has jobs');
      assert.deepEqual([...new Set(jobs.map((j) => j.owner))], ['alice'], JSON.stringify(query));
    }
    const all = await conn.vic.call('job.list', { all: true });
    const owners = new Set(all.map((j) => j.owner));
    assert.ok(owners.has('alice') && owners.has('bob'), 'a viewer sees every owner');

    // Paging with beforeId walks the same list, page by page, still only alice's jobs.
    const whole = await conn.alice.call('job.list', {});
    const paged: number[] = [];
    let beforeId: number | undefined;
    for (let page = 0; page < 100; page++) {
      const jobs = await conn.alice.call('job.list', { limit: 2, ...(beforeId !== undefined ? { beforeId } : {}) });
      if (jobs.length === 0) break;
      assert.ok(jobs.every((j) => j.owner === 'alice'));
      paged.push(...jobs.map((j) => j.id));
      beforeId = jobs.at(-1)!.id;
    }
    assert.ok(whole.length > 2, 'more than one page');
    assert.deepEqual(paged, whole.map((j) => j.id), 'pages add up to the whole list');
  });
});

describe('isolation of events and log bytes', () => {
  test("a user receives events of its own jobs only; an admin's all-subscription gets everyone's", async () => {
    const seen = { alice: [] as JobChangedEvent[], bob: [] as JobChangedEvent[], admin: [] as JobChangedEvent[] };
    const usage = { alice: [] as JobUsageEvent[], bob: [] as JobUsageEvent[] };
    const offs = [
      conn.alice.on('job.changed', (e) => seen.alice.push(e)),
      conn.bob.on('job.changed', (e) => seen.bob.push(e)),
      conn.admin.on('job.changed', (e) => seen.admin.push(e)),
      conn.alice.on('job.usage', (e) => usage.alice.push(e)),
      conn.bob.on('job.usage', (e) => usage.bob.push(e)),
    ];
    const subs = [
      [conn.alice, (await conn.alice.call('events.subscribe', { usage: true })).subscription],
      [conn.bob, (await conn.bob.call('events.subscribe', { usage: true })).subscription],
      [conn.admin, (await conn.admin.call('events.subscribe', { all: true })).subscription],
    ] as const;
    try {
      const a = await startJob(conn.alice, ['sh', '-c', 'echo a']);
      const b = await startJob(conn.bob, ['sh', '-c', 'echo b']);
      const ended = (list: JobChangedEvent[], id: number) => list.some((e) => e.job.id === id && e.job.state !== 'running');
      await pollUntil('the owners and the admin to see both jobs end', () => ended(seen.alice, a.id) && ended(seen.bob, b.id) && ended(seen.admin, a.id) && ended(seen.admin, b.id));
      // Usage comes about once a second for running jobs (each user has a sleeper running).
      await pollUntil('usage events for alice and bob', () => usage.alice.length > 0 && usage.bob.length > 0, 5000);
      const aliceIds = new Set((await conn.admin.call('job.list', { all: true })).filter((j) => j.owner === 'alice').map((j) => j.id));
      assert.deepEqual([...new Set(seen.alice.map((e) => e.job.owner))], ['alice']);
      assert.deepEqual([...new Set(seen.bob.map((e) => e.job.owner))], ['bob']);
      assert.ok(usage.alice.every((e) => aliceIds.has(e.id)), 'alice gets usage of her jobs only');
      assert.ok(usage.bob.every((e) => !aliceIds.has(e.id)), "bob gets none of alice's usage");
      assert.ok(!seen.alice.some((e) => e.job.id === b.id) && !seen.bob.some((e) => e.job.id === a.id));
    } finally {
      for (const off of offs) off();
      for (const [c, s] of subs) await c.call('events.unsubscribe', { subscription: s });
    }
  });

  test('no frame of another user reaches a user: raw socket view', async (t) => {
    // Bob follows a job that keeps writing a marker; alice, on a raw socket, subscribes to her own
    // log and events and tries every way at bob's. Not one byte of bob's must arrive.
    const marker = 'bob-secret-7f3a';
    const bobJob = await startJob(conn.bob, ['sh', '-c', `while :; do echo ${marker}; sleep 0.01; done`]);
    const bobGot: Buffer[] = [];
    const bobStream = await conn.bob.streamLogs({ id: bobJob.id, follow: true }, { onChunk: (_s, data) => void bobGot.push(Buffer.from(data)) });
    const raw = await openRaw(t, d.endpoint, pems.alice);
    let id = 0;
    const ask = async (method: string, params: unknown) => {
      raw.sendJson({ t: 'req', id: ++id, method, params });
      return raw.response(id);
    };
    assert.ok(!(await ask('events.subscribe', { usage: true })).error);
    const own = (await ask('logs.subscribe', { id: done.alice.id, follow: false })).result as { subscription: number };
    for (const params of [
      { id: bobJob.id, follow: true },
      { id: bobJob.id, follow: false, tailLines: 5 },
      { id: bobJob.id, follow: true, afterSeq: 1, streams: ['stdout', 'stderr'] },
    ]) {
      assert.equal(errorOf(await ask('logs.subscribe', params)).code, 'PERMISSION_DENIED');
    }
    assert.equal(errorOf(await ask('job.get', { id: bobJob.id })).code, 'PERMISSION_DENIED');
    // Subscription numbers are per connection: bob's subscription is not alice's to end.
    assert.equal(errorOf(await ask('logs.unsubscribe', { subscription: bobStream.subscription + 1 })).code, 'NOT_FOUND');
    await pollUntil('bob to receive his output', () => Buffer.concat(bobGot).includes(marker));
    await pollUntil('a usage event on alice raw socket', () => raw.messages.some((m) => !m.binary && m.json.event === 'job.usage'), 5000);
    assert.equal((await conn.admin.call('job.stop', { id: bobJob.id, graceMs: 0 })).state, 'stopped');
    await bobStream.done;

    const text = raw.messages.filter((m) => !m.binary).map((m) => JSON.stringify((m as { json: unknown }).json)).join('\n');
    const binary = raw.messages.filter((m) => m.binary).map((m) => (m as { data: Buffer }).data);
    assert.ok(!text.includes(marker) && !binary.some((b) => b.includes(marker)), "none of bob's bytes reached alice");
    assert.ok(!text.includes(`"owner":"bob"`), "no event about bob's jobs reached alice");
    for (const m of raw.messages) {
      if (!m.binary && m.json.event === 'job.usage') assert.notEqual((m.json.params as { id: number }).id, bobJob.id);
    }
    assert.ok(binary.length > 0, 'alice did get her own log frames');
    for (const b of binary) assert.equal(b.readUInt32BE(4), own.subscription, 'every log frame alice got is of her own subscription');
    assert.ok(Buffer.concat(binary.map((b) => b.subarray(24))).toString().includes('alice-output'));
  });

  test('the CLI refuses another user job with a clear message and prints none of it', async () => {
    const bobJob = String(done.bob.id);
    for (const args of [['logs', bobJob], ['logs', '-f', bobJob], ['logs', '--tail', '1', bobJob], ['status', bobJob], ['wait', bobJob], ['stop', String(running.bob.id)]]) {
      const r = await d.cli(['--identity', ids.alice, ...args]);
      assertExit(r, 1, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, new RegExp(`^jobctl: job ${args.at(-1)} belongs to another user; alice \\(role user\\) reaches only its own jobs`), args.join(' '));
    }
    const ps = jsonOf<JobInfo[]>(await d.cli(['--identity', ids.alice, 'ps', '--json']));
    assert.deepEqual([...new Set(ps.map((j) => j.owner))], ['alice']);
    const psAll = await d.cli(['--identity', ids.alice, 'ps', '--all']);
    assertExit(psAll, 1);
    assert.match(psAll.stderr, /sees only its own jobs/);
    const viewerRun = await d.cli(['--identity', ids.vic, 'run', '--', 'true']);
    assertExit(viewerRun, 1);
    assert.match(viewerRun.stderr, /vic \(role viewer\) may not call job\.start/);
    assert.equal((await d.cli(['--identity', ids.vic, 'logs', bobJob])).stdout, 'bob-output\n', 'a viewer reads every job');
  });
});

describe('audit', () => {
  test('every state-changing call is recorded with who, what and when; only admins read it', async () => {
    const entries = await conn.admin.call('audit.list', { limit: 10_000 });
    const admin = (await conn.admin.call('session.info', {})).user;
    const find = (user: string, method: string, ok: boolean, target?: string) =>
      entries.find((e: AuditEntry) => e.user === user && e.method === method && e.ok === ok && (target === undefined || e.target === target));
    const checks: Array<[string, AuditEntry | undefined]> = [
      ['alice started her job', find('alice', 'job.start', true, `job ${running.alice.id}`)],
      ['bob started his job', find('bob', 'job.start', true, `job ${running.bob.id}`)],
      ['vic was refused job.start', find('vic', 'job.start', false)],
      ['alice was refused job.stop of a job of bob', find('alice', 'job.stop', false)],
      ['alice stopped her own job', find('alice', 'job.stop', true)],
      ['alice was refused certs.issue', find('alice', 'certs.issue', false)],
      ['the admin issued certificates', find(admin, 'certs.issue', true, 'user alice')],
      ['the admin stopped a job of bob', find(admin, 'job.stop', true)],
    ];
    for (const [what, entry] of checks) {
      assert.ok(entry, `audit: ${what}`);
      assert.ok(Date.parse(entry.time) >= testStart - 1000 && Date.parse(entry.time) <= Date.now(), `${what}: a time`);
      if (!entry.ok) assert.equal(entry.errorCode, 'PERMISSION_DENIED', what);
    }
    const refusedStop = find('alice', 'job.stop', false);
    assert.match(refusedStop?.target ?? '', /^job \d+$/, 'a refused stop names the job');
    assert.equal(refusedStop?.role, 'user');
    // Every method the shared table marks as state-changing shows up, allowed or refused.
    for (const name of METHOD_NAMES.filter((n) => METHODS[n].audited)) assert.ok(entries.some((e) => e.method === name), `audit has ${name} calls`);
    // Reads are not state-changing and are not recorded.
    assert.ok(!entries.some((e) => e.method === 'job.get' || e.method === 'job.list'), 'reads are not audited');
    for (const who of ['alice', 'vic'] as const) await rejectsWith(conn[who].call('audit.list', {}), 'PERMISSION_DENIED', who);
  });
});
