// Bad input over real, authenticated connections: random and mutated frames reach the decoder and
// every handler (as admin, user and viewer) — mutated valid requests of all 15 methods, random JSON,
// byte-mutated text, deep nesting, huge values, lone surrogates, binary frames, invalid UTF-8 and
// oversized messages. Held: the daemon never dies, every frame gets one response that is a valid
// result or a coded error (never INTERNAL: that would be an unexpected exception), a connection is
// only ever closed for what RFC 6455 says closes it (invalid UTF-8: 1007, over the hard size limit
// the daemon will not read: 1009; a frame between the frame limit and that gets a TOO_LARGE answer),
// and a second client keeps getting answers throughout. SHORT ~5,000 cases; JOBCTL_LONG=1: 100,000.
// A failure prints the seed: JOBCTL_SEED=N replays the same run.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { IdentityPems } from '../../src/pki/index.ts';
import { ERROR_CODES } from '../../src/rpc/errors.ts';
import { METHOD_NAMES } from '../../src/rpc/methods.ts';
import { HARD_FRAME_BYTES } from '../../src/daemon/frame-limit.ts';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.ts';
import { isAlive } from '../support/poll.ts';
import { adminIdentity, connect, daemon, fuzzSeed, integrityCheck, issueIdentity, openRaw, percentile, rng, scale, spec, tempDir, type RawClient } from './helpers.ts';

const CASES = scale(5_000, 100_000);
/** Requests in flight per connection (the daemon's limit is 64; BUSY beyond is also a coded answer). */
const WINDOW = 16;

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const ODD_NUMBERS = [0, -1, -0, 1, 1.5, 0.1, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 3_600_001, 10_001];
const ODD_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '/etc/shadow',
  '\u001b[31mred\u001b[0m',
  '\u001b]0;title\u0007',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '__proto__',
  'constructor',
  'toString',
  'stdout',
  'running',
  'admin',
  '💥'.repeat(40),
  'a=b',
  '%s%n%x',
  '${PATH}',
  '$(id)',
  'job.start',
  '\u202e\u2066',
];

function randomString(r: Rand): string {
  const roll = r();
  if (roll < 0.4) return pick(r, ODD_STRINGS);
  if (roll < 0.45) return 'x'.repeat(int(r, 1000, 300_000)); // big, sometimes over a field limit
  const len = int(r, 0, 24);
  let s = '';
  for (let i = 0; i < len; i++) {
    const c = r();
    s += c < 0.7 ? String.fromCharCode(int(r, 0x20, 0x7e)) : c < 0.85 ? String.fromCharCode(int(r, 0, 0x1f)) : String.fromCharCode(int(r, 0x80, 0xffff));
  }
  return s;
}

function randomJson(r: Rand, depth = 0): unknown {
  const roll = r();
  if (depth > 4 || roll < 0.2) return pick(r, ODD_NUMBERS);
  if (roll < 0.45) return randomString(r);
  if (roll < 0.55) return pick(r, [true, false, null]);
  if (roll < 0.75) return Array.from({ length: int(r, 0, 4) }, () => randomJson(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(r, 0, 4); i > 0; i--) o[randomString(r).slice(0, 20)] = randomJson(r, depth + 1);
  return o;
}

/** One random change somewhere inside value (a copy). */
function mutate(r: Rand, value: unknown, depth = 0): unknown {
  const roll = r();
  if (depth > 6 || value === null || typeof value !== 'object' || roll < 0.25) {
    if (roll < 0.1) return undefined; // becomes a missing field
    return r() < 0.5 ? randomJson(r) : typeof value === 'number' ? pick(r, ODD_NUMBERS) : randomString(r);
  }
  if (Array.isArray(value)) {
    const copy = [...value];
    const op = r();
    if (op < 0.15) return [];
    if (op < 0.25) {
      // Long arrays of a short scalar (a copy of a big element, nested, would not even stringify).
      const item = typeof copy[0] === 'string' ? copy[0].slice(0, 16) : typeof copy[0] === 'number' ? copy[0] : 'x';
      return Array.from({ length: int(r, 5000, 20_000) }, () => item);
    }
    if (op < 0.45 || copy.length === 0) copy.push(randomJson(r));
    else {
      const i = int(r, 0, copy.length - 1);
      copy[i] = mutate(r, copy[i], depth + 1);
    }
    return copy;
  }
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const op = r();
  if (op < 0.15 || keys.length === 0) copy[randomString(r).slice(0, 30) || 'extra'] = randomJson(r);
  else if (op < 0.3) delete copy[pick(r, keys)];
  else {
    const k = pick(r, keys);
    copy[k] = mutate(r, copy[k], depth + 1);
  }
  return copy;
}

/** Byte-level damage to a frame's text, kept valid UTF-8 (so it reaches our decoder, not ws's check). */
function damageText(r: Rand, text: string): string {
  let s = text;
  for (let n = int(r, 1, 4); n > 0; n--) {
    const i = int(r, 0, s.length);
    const op = r();
    if (op < 0.33) s = s.slice(0, i) + s.slice(i + 1);
    else if (op < 0.66) s = s.slice(0, i) + pick(r, ['{', '}', '[', ']', '"', ',', ':', '\\', '0', 'e', '-', '\u0000', 'n', '\ud800']) + s.slice(i);
    else s = s.slice(0, i);
  }
  return s;
}

interface Fixture {
  doneIds: number[];
  runningId: number;
  adminUser: string;
}

/** Valid params of every method, pointing at real jobs. */
function templates(f: Fixture, r: Rand): Record<string, unknown> {
  const jobId = pick(r, [...f.doneIds, f.runningId, 999_999]);
  return {
    'session.info': {},
    'daemon.info': {},
    'job.start': { ...spec(['/bin/true'], { name: 'fuzz' }), env: { PATH: '/nonexistent-fuzz-path' } },
    'job.list': { all: true, limit: 5, states: ['exited', 'failed'], beforeId: 100 },
    'job.get': { id: jobId },
    // Never the one long-running job: a stop would take its grace period, a wait would not return.
    'job.stop': { id: pick(r, f.doneIds), graceMs: 0 },
    'job.wait': { id: pick(r, f.doneIds) },
    'logs.subscribe': pick(r, [{ id: jobId, follow: false }, { id: jobId, follow: true, tailLines: 3, streams: ['stdout'] }, { id: jobId, follow: false, afterSeq: 1 }]),
    'logs.unsubscribe': { subscription: int(r, 1, 40) },
    'events.subscribe': { all: r() < 0.5, usage: r() < 0.5 },
    'events.unsubscribe': { subscription: int(r, 1, 40) },
    'certs.issue': { user: 'fuzz-victim', role: pick(r, ['user', 'viewer', 'admin']), days: 1 },
    'certs.list': {},
    'certs.revoke': pick(r, [{ user: 'fuzz-victim' }, { serial: '1234abcd' }]),
    'audit.list': { limit: 3 },
  };
}

/** A generated case: the text or bytes to send, and what may happen to the connection. */
interface Case {
  data: string | Buffer;
  binary: boolean;
  /** The request id the response must carry; null when the frame's id is not readable (answered with 0, or any). */
  id: number | null;
  /** The close code this case is allowed to cause (ws refuses it before our code sees it). */
  mayClose: number | null;
  kind: string;
}

function makeCase(r: Rand, f: Fixture, nextId: () => number): Case {
  const roll = r();
  const method = pick(r, METHOD_NAMES);
  let params: unknown = templates(f, r)[method];
  const id = nextId();
  if (roll < 0.6) {
    // A mutated valid request (the bulk: this is what reaches the validators and handlers).
    for (let n = int(r, 1, 3); n > 0; n--) params = mutate(r, params);
    // Never revoke the fuzzer's own certificates (that would end the run early, by design).
    if (method === 'certs.revoke' && (JSON.stringify(params) ?? '').includes(f.adminUser)) params = { user: 'fuzz-victim' };
    let text = JSON.stringify({ t: 'req', id, method: r() < 0.05 ? randomString(r) : method, params });
    if (r() < 0.05) {
      // Keys JSON.stringify cannot write as own properties: spliced into the text.
      text = text.replace(/"params":\{(\}?)/, (_m, close: string) => `"params":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}${close ? '}' : ','}`);
    }
    return { data: text, binary: false, id, mayClose: Buffer.byteLength(text) > HARD_FRAME_BYTES ? 1009 : null, kind: 'mutated' };
  }
  if (roll < 0.7) {
    // A valid request, unmutated: the handlers' happy paths interleaved with the garbage.
    const text = JSON.stringify({ t: 'req', id, method, params });
    return { data: text, binary: false, id, mayClose: Buffer.byteLength(text) > HARD_FRAME_BYTES ? 1009 : null, kind: 'valid' };
  }
  if (roll < 0.8) {
    // Damaged envelope: the id may be unreadable.
    const base = JSON.stringify(r() < 0.5 ? { t: 'req', id, method, params } : mutate(r, { t: 'req', id, method, params })) ?? 'null';
    const text = damageText(r, base);
    return { data: text, binary: false, id: null, mayClose: Buffer.byteLength(text) > HARD_FRAME_BYTES ? 1009 : null, kind: 'damaged' };
  }
  if (roll < 0.86) return { data: JSON.stringify(randomJson(r)) ?? 'null', binary: false, id: null, mayClose: null, kind: 'random-json' };
  if (roll < 0.9) {
    // Deep nesting, inside params (id readable) or as the whole frame.
    const depth = pick(r, [31, 32, 33, 100, 5000, 100_000]);
    const nest = '['.repeat(depth) + ']'.repeat(depth);
    // Refused before parsing (so the id is not read: the answer carries id 0), or parsed when shallow enough.
    const data = r() < 0.5 ? `{"t":"req","id":${id},"method":"${method}","params":${nest}}` : nest;
    return { data, binary: false, id: null, mayClose: null, kind: 'deep' };
  }
  if (roll < 0.94) {
    const size = pick(r, [0, 1, 24, 100, 4096]);
    return { data: Buffer.from(Array.from({ length: size }, () => int(r, 0, 255))), binary: true, id: null, mayClose: null, kind: 'binary' };
  }
  if (roll < 0.97) {
    // Big but within the frame limit: a request whose params carry most of a MiB.
    const base = JSON.stringify({ t: 'req', id, method, params: { ...(params as object), pad: '' } });
    const room = MAX_FRAME_BYTES - Buffer.byteLength(base);
    if (room < 1000) return { data: base, binary: false, id, mayClose: Buffer.byteLength(base) > HARD_FRAME_BYTES ? 1009 : null, kind: 'big' };
    const text = base.replace('"pad":""', `"pad":"${'y'.repeat(int(r, room / 2, room))}"`);
    return { data: text, binary: false, id, mayClose: null, kind: 'big' };
  }
  if (roll < 0.985) {
    // Bytes that are not UTF-8 in a text frame: ws closes with 1007 before any of our code runs.
    return { data: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]), binary: false, id: null, mayClose: 1007, kind: 'invalid-utf8' };
  }
  // Over the frame limit: answered with TOO_LARGE (no id to read in spaces: id 0); over the hard
  // limit, unread: ws closes with 1009.
  if (r() < 0.5) return { data: Buffer.alloc(MAX_FRAME_BYTES + int(r, 1, 4096), 0x20), binary: false, id: null, mayClose: null, kind: 'oversize' };
  return { data: Buffer.alloc(HARD_FRAME_BYTES + int(r, 1, 4096), 0x20), binary: false, id: null, mayClose: 1009, kind: 'oversize-hard' };
}

/** Checks one response frame; returns a description of what is wrong, or null. */
function checkResponse(json: Record<string, unknown> | null, c: Case): string | null {
  if (!json) return 'a response that is not JSON';
  if (json.t !== 'res') return `a frame of type ${String(json.t)} where a response was due`;
  if (c.id !== null && json.id !== c.id) return `response id ${String(json.id)} for request ${c.id}`;
  const hasResult = Object.hasOwn(json, 'result');
  const hasError = Object.hasOwn(json, 'error');
  if (hasResult === hasError) return 'a response with both or neither of result and error';
  if (hasError) {
    const e = json.error as { code?: unknown; message?: unknown };
    if (!(ERROR_CODES as readonly unknown[]).includes(e.code)) return `an error without a known code: ${JSON.stringify(e).slice(0, 200)}`;
    if (e.code === 'INTERNAL') return `INTERNAL (an unexpected exception): ${String(e.message).slice(0, 300)}`;
    if (typeof e.message !== 'string' || e.message.length === 0) return 'an error without a message';
  }
  if (c.kind === 'oversize' && (json.error as { code?: unknown } | undefined)?.code !== 'TOO_LARGE') return `an oversized frame answered with ${JSON.stringify(json).slice(0, 200)}`;
  return null;
}

test(`protocol fuzz: ${CASES} random and mutated frames over authenticated connections`, { timeout: scale(240_000, 3_600_000) }, async (t) => {
  const seed = fuzzSeed();
  t.diagnostic(`seed ${seed} (JOBCTL_SEED=${seed} replays this run)`);
  const r = rng(seed);
  const d = await daemon(t);
  const dir = tempDir(t);
  const pems: Record<'admin' | 'user' | 'viewer', IdentityPems> = {
    admin: adminIdentity(d),
    user: await issueIdentity(d, 'fuzz-user', 'user', join(dir, 'user')),
    viewer: await issueIdentity(d, 'fuzz-viewer', 'viewer', join(dir, 'viewer')),
  };
  const admin = await connect(t, d.endpoint, pems.admin);
  const adminUser = (await admin.call('session.info', {})).user;
  const doneIds: number[] = [];
  for (const who of ['admin', 'user'] as const) {
    const c = who === 'admin' ? admin : await connect(t, d.endpoint, pems.user);
    const job = await c.call('job.start', spec(['sh', '-c', `printf '${who} output \\033[31m\\n'; echo err >&2`]));
    doneIds.push((await c.call('job.wait', { id: job.id })).id);
  }
  const running = await admin.call('job.start', spec(['sleep', '3600'], { name: 'fuzz-long' }));
  t.after(() => admin.call('job.stop', { id: running.id, graceMs: 0 }).catch(() => undefined));
  const fixture: Fixture = { doneIds, runningId: running.id, adminUser };

  // The observer: a separate client asking all along; it must never go unanswered.
  const observer = await connect(t, d.endpoint, pems.viewer);
  const observed: number[] = [];
  let observing = true;
  t.after(() => void (observing = false));
  const observerLoop: Promise<unknown> = (async () => {
    while (observing) {
      const s = Date.now();
      await Promise.race([
        observer.call('session.info', {}),
        new Promise((_, reject) => setTimeout(() => reject(new Error('the observer got no answer within 5 s')), 5000).unref()),
      ]);
      observed.push(Date.now() - s);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  observerLoop.catch(() => undefined); // awaited below; a failure is reported there

  const stats = { sent: 0, results: 0, errors: {} as Record<string, number>, closes: {} as Record<string, number>, reconnects: 0, kinds: {} as Record<string, number> };
  const problems: string[] = [];
  let nextId = 1;
  const roles = ['admin', 'user', 'viewer'] as const;
  const clients = new Map<string, RawClient>();
  const open = async (role: (typeof roles)[number]) => {
    const c = await openRaw(d.endpoint, pems[role], { maxPayload: 64 * 1024 * 1024 });
    clients.set(role, c);
    return c;
  };
  t.after(() => {
    for (const c of clients.values()) c.close();
  });
  for (const role of roles) await open(role);

  // Each role's connection runs WINDOW cases at a time; a case whose id cannot be read is sent alone,
  // so that the one response it gets (id 0) is known to be its own.
  const perRole = Math.ceil(CASES / roles.length);
  await Promise.all(
    roles.map(async (role) => {
      const pending = new Set<Promise<void>>();
      const drain = () => Promise.all([...pending]);
      for (let i = 0; i < perRole && problems.length < 20; i++) {
        const c = makeCase(r, fixture, () => nextId++);
        stats.kinds[c.kind] = (stats.kinds[c.kind] ?? 0) + 1;
        if (c.id === null || c.mayClose !== null) await drain();
        const client = clients.get(role)!;
        const seen = client.messages.length;
        client.send(c.data, c.binary);
        stats.sent++;
        const done = (async () => {
          if (c.mayClose !== null) {
            const closed = await Promise.race([client.closed, new Promise<null>((res) => setTimeout(() => res(null), 10_000).unref())]);
            if (!closed || closed.code !== c.mayClose) problems.push(`${c.kind}: expected close ${c.mayClose}, got ${closed ? closed.code : 'no close'}`);
            stats.closes[String(closed?.code)] = (stats.closes[String(closed?.code)] ?? 0) + 1;
            return;
          }
          let res: Record<string, unknown> | null;
          if (c.id !== null) res = await client.response(c.id, 20_000).catch(() => null);
          else {
            const deadline = Date.now() + 20_000;
            let m = undefined;
            while (!m && Date.now() < deadline) {
              m = client.messages.slice(seen).find((x) => !x.binary && x.json?.t === 'res');
              if (!m) await new Promise((res2) => setTimeout(res2, 1));
            }
            res = m && !m.binary ? m.json : null;
          }
          if (!res) {
            problems.push(`${c.kind} as ${role}: no response within 20 s to ${String(c.data).slice(0, 200)}`);
            return;
          }
          const wrong = checkResponse(res, c);
          if (wrong) problems.push(`${c.kind} as ${role}: ${wrong}; frame: ${(typeof c.data === 'string' ? c.data : c.data.toString('hex')).slice(0, 300)}`);
          if (Object.hasOwn(res, 'result')) stats.results++;
          else {
            const code = String((res.error as { code: string }).code);
            stats.errors[code] = (stats.errors[code] ?? 0) + 1;
          }
        })();
        if (c.mayClose !== null) {
          await done;
          stats.reconnects++;
          await open(role);
          continue;
        }
        if (c.id === null) {
          await done;
          continue;
        }
        pending.add(done);
        void done.finally(() => pending.delete(done));
        if (pending.size >= WINDOW) await Promise.race(pending);
      }
      await drain();
    }),
  );
  observing = false;
  await observerLoop;

  t.diagnostic(
    `sent=${stats.sent} results=${stats.results} errors=${JSON.stringify(stats.errors)} closes=${JSON.stringify(stats.closes)} reconnects=${stats.reconnects} ` +
      `kinds=${JSON.stringify(stats.kinds)} observerCalls=${observed.length} observerP50/P99/maxMs=${percentile(observed, 50)}/${percentile(observed, 99)}/${Math.max(...observed)}`,
  );
  assert.deepEqual(problems, [], `seed ${seed}: every frame answered with a valid result or a coded error`);
  assert.ok(isAlive(d.pid) && d.process.exitCode === null, 'the daemon is alive');
  assert.doesNotMatch(d.log(), /handler failed|uncaught|unhandled/i, 'no unexpected exception in the daemon log');
  assert.ok(observed.length > 10, 'the observer was answered all along');
  // Nothing stored is harmed, and a fresh client is served.
  const fresh = await connect(t, d.endpoint, pems.admin);
  const jobs = await fresh.call('job.list', { all: true, limit: 10_000 });
  for (const id of doneIds) assert.equal(jobs.find((j) => j.id === id)?.state, 'exited', `job ${id} is intact`);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(integrityCheck(d.home), 'ok');
});
