// config.json: every key with good values (and what they become), and bad values whose message names
// the key and what is accepted. A bad file must stop the daemon before it serves anything.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DEFAULT_CONFIG, loadConfig, splitListen, type DaemonConfig } from '../../src/home/config.ts';
import { isJobctlError } from '../../src/rpc/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'jobctl-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Loads a config.json holding text (an object is JSON-encoded). */
function load(content: unknown): DaemonConfig {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return loadConfig(file);
}

/** Asserts that content is refused with INVALID_ARGUMENT and a message matching each pattern. */
function refused(content: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => load(content),
    (err: unknown) => {
      assert.ok(isJobctlError(err), `not a JobctlError: ${String(err)}`);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      for (const p of patterns) assert.match(err.message, p);
      return true;
    },
  );
}

const MiB = 2 ** 20;

describe('the file', () => {
  test('missing: the defaults', () => {
    assert.deepEqual(loadConfig(join(dir, 'absent.json')), DEFAULT_CONFIG);
  });
  test('empty object: the defaults', () => {
    assert.deepEqual(load({}), DEFAULT_CONFIG);
  });
  test('defaults are loopback on any free port, no limits, 256 MiB of log per job, 30 days / 10000 jobs, 10 s grace', () => {
    assert.deepEqual(DEFAULT_CONFIG, {
      listen: '127.0.0.1:0',
      serverNames: [],
      defaultLimits: {},
      maxLimits: {},
      logCapBytes: 256 * MiB,
      retention: { maxAgeDays: 30, maxFinishedJobs: 10_000 },
      stopGraceMs: 10_000,
    });
  });
  test('not JSON: says so with the path', () => {
    refused('{"listen": ', /configuration .*config-\d+\.json is not valid JSON/);
  });
  test('not an object', () => {
    refused([], /^invalid config \[\]: an object, got an array$/);
    refused('"x"', /^invalid config "x": an object, got a string$/);
  });
  test('an unknown (misspelled) key is named, with the keys that exist', () => {
    refused({ listn: '127.0.0.1:1' }, /^invalid config\.listn "127\.0\.0\.1:1": unknown field; config accepts the fields listen, serverNames, defaultLimits, maxLimits, logCap, retention, stopGrace$/);
  });
  test('unreadable (a directory): says it cannot read it', () => {
    const path = join(dir, 'a-directory.json');
    mkdirSync(path);
    assert.throws(() => loadConfig(path), (err: unknown) => isJobctlError(err) && err.code === 'INVALID_ARGUMENT' && /cannot read the configuration .*a-directory\.json: EISDIR/.test(err.message));
  });
});

describe('listen', () => {
  test('HOST:PORT, IPv6 in brackets, port 0 for any free port', () => {
    assert.equal(load({ listen: '0.0.0.0:7443' }).listen, '0.0.0.0:7443');
    assert.equal(load({ listen: '[::1]:7443' }).listen, '[::1]:7443');
    assert.equal(load({ listen: 'jobs.example.com:0' }).listen, 'jobs.example.com:0');
    assert.deepEqual(splitListen('[::1]:7443'), { host: '::1', port: 7443 });
    assert.deepEqual(splitListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  });
  test('bad: no port, a port above 65535, spaces, not a string', () => {
    refused({ listen: 'localhost' }, /^invalid config\.listen "localhost": HOST:PORT, e\.g\. 127\.0\.0\.1:7777 or \[::1\]:7777/);
    refused({ listen: '127.0.0.1:70000' }, /^invalid config\.listen "127\.0\.0\.1:70000": a port from 0 to 65535$/);
    refused({ listen: 'my host:80' }, /^invalid config\.listen "my host:80": HOST:PORT/);
    refused({ listen: 7443 }, /^invalid config\.listen 7443: a string, got a number$/);
  });
});

describe('serverNames', () => {
  test('DNS names and IP addresses for the server certificate', () => {
    assert.deepEqual(load({ serverNames: ['jobs.example.com', '10.0.0.5', '::1'] }).serverNames, ['jobs.example.com', '10.0.0.5', '::1']);
  });
  test('bad: not a name, empty, too many, not an array', () => {
    refused({ serverNames: ['jobs example'] }, /^invalid config\.serverNames\[0\] "jobs example": a DNS name or IP address$/);
    refused({ serverNames: [''] }, /^invalid config\.serverNames\[0\] "": a non-empty string$/);
    refused({ serverNames: Array.from({ length: 65 }, (_, i) => `h${i}.example`) }, /^invalid config\.serverNames .*: at most 64 items \(got 65\)$/);
    refused({ serverNames: 'jobs.example.com' }, /^invalid config\.serverNames "jobs\.example\.com": an array, got a string$/);
  });
});

for (const key of ['defaultLimits', 'maxLimits'] as const) {
  describe(key, () => {
    test('sizes and CPU as on the command line, or plain numbers', () => {
      assert.deepEqual(load({ [key]: { memory: '256M', cpu: '0.5', pids: 100, ioRead: '10M', ioWrite: 2 * MiB } })[key], {
        memory: 256 * MiB,
        cpu: 0.5,
        pids: 100,
        ioRead: 10 * MiB,
        ioWrite: 2 * MiB,
      });
      assert.deepEqual(load({ [key]: { memory: 512 * MiB, cpu: 2 } })[key], { memory: 512 * MiB, cpu: 2 });
    });
    test('bad: format, range, unknown limit, not an object — each names the key', () => {
      const at = `config\\.${key}`;
      refused({ [key]: { memory: '256X' } }, new RegExp(`^invalid ${at}\\.memory "256X": a size like 1024, 512k, 256M`));
      // As written (a JSON number is bytes, a string as the CLI's flags), the range in the same spelling.
      refused({ [key]: { memory: 1000 } }, new RegExp(`^invalid ${at}\\.memory 1000: too small; accepted: a size from 1MiB to 1PiB, like 512M or 2G, or a JSON number of bytes$`));
      refused({ [key]: { memory: '2P' } }, new RegExp(`^invalid ${at}\\.memory "2P": too large; accepted: a size from 1MiB to 1PiB`));
      refused({ [key]: { cpu: 0 } }, new RegExp(`^invalid ${at}\\.cpu 0: too small; accepted: a number of CPU cores from 0\\.01 to 1024, like 0\\.5 or 2$`));
      refused({ [key]: { cpu: 'half' } }, new RegExp(`^invalid ${at}\\.cpu "half": a number of CPU cores like 0\\.5`));
      refused({ [key]: { pids: 0 } }, new RegExp(`^invalid ${at}\\.pids 0: too small; accepted: a whole number of processes from 1 to 4194304$`));
      refused({ [key]: { ioRead: '1' } }, new RegExp(`^invalid ${at}\\.ioRead "1": too small; accepted: a rate in bytes per second from 1KiB to 100GiB, like 10M or 1\\.5G, or a JSON number of bytes per second$`));
      refused({ [key]: { ioWrite: -5 } }, new RegExp(`^invalid ${at}\\.ioWrite -5: too small; accepted: a rate in bytes per second from 1KiB`));
      refused({ [key]: { swap: '1G' } }, new RegExp(`^invalid ${at}\\.swap "1G": unknown field; ${at} accepts the fields cpu, memory, pids, ioRead, ioWrite$`));
      refused({ [key]: '256M' }, new RegExp(`^invalid ${at} "256M": an object, got a string$`));
    });
  });
}

describe('defaultLimits against maxLimits', () => {
  test('a default within the maximum is fine', () => {
    const c = load({ defaultLimits: { memory: '256M' }, maxLimits: { memory: '1G', cpu: 4 } });
    assert.equal(c.defaultLimits.memory, 256 * MiB);
    assert.equal(c.maxLimits.memory, 1024 * MiB);
  });
  test('a default above the maximum names both keys', () => {
    refused({ defaultLimits: { memory: '2G' }, maxLimits: { memory: '1G' } }, /^invalid config\.defaultLimits\.memory "2G": at most config\.maxLimits\.memory \("1G"\)$/);
    refused({ defaultLimits: { cpu: 2 }, maxLimits: { cpu: 1 } }, /^invalid config\.defaultLimits\.cpu 2: at most config\.maxLimits\.cpu \(1\)$/);
  });
});

describe('logCap', () => {
  test('a size, from 64 KiB', () => {
    assert.equal(load({ logCap: '1G' }).logCapBytes, 2 ** 30);
    assert.equal(load({ logCap: 65536 }).logCapBytes, 65536);
    assert.equal(load({ logCap: '64k' }).logCapBytes, 65536);
  });
  test('bad: below 64 KiB, not a size, a fraction of a byte', () => {
    refused({ logCap: '1k' }, /^invalid config\.logCap "1k": too small; accepted: a size from 64KiB to 1PiB, like 256M or 1G, or a JSON number of bytes$/);
    refused({ logCap: 'lots' }, /^invalid config\.logCap "lots": a size like/);
    refused({ logCap: 65536.5 }, /^invalid config\.logCap 65536\.5: a size from 64KiB to 1PiB, like 256M or 1G, or a JSON number of bytes$/);
  });
});

describe('retention', () => {
  test('days and a job count; null turns either off; an absent one keeps its default', () => {
    assert.deepEqual(load({ retention: { maxAgeDays: 7, maxFinishedJobs: 100 } }).retention, { maxAgeDays: 7, maxFinishedJobs: 100 });
    assert.deepEqual(load({ retention: { maxAgeDays: null } }).retention, { maxAgeDays: null, maxFinishedJobs: 10_000 });
    assert.deepEqual(load({ retention: { maxFinishedJobs: null } }).retention, { maxAgeDays: 30, maxFinishedJobs: null });
    assert.deepEqual(load({ retention: {} }).retention, DEFAULT_CONFIG.retention);
  });
  test('bad: zero days, more than 100 years, a fraction of a job, an unknown key', () => {
    refused({ retention: { maxAgeDays: 0 } }, /^invalid config\.retention\.maxAgeDays 0: an integer from 1 to 36500 days$/);
    refused({ retention: { maxAgeDays: 40_000 } }, /^invalid config\.retention\.maxAgeDays 40000: an integer from 1 to 36500 days$/);
    refused({ retention: { maxFinishedJobs: 1.5 } }, /^invalid config\.retention\.maxFinishedJobs 1\.5: an integer from 1 to 100000000, got a number$/);
    refused({ retention: { maxAge: 3 } }, /^invalid config\.retention\.maxAge 3: unknown field; config\.retention accepts the fields maxAgeDays, maxFinishedJobs$/);
    refused({ retention: 30 }, /^invalid config\.retention 30: an object, got a number$/);
  });
});

describe('stopGrace', () => {
  test('a duration string; a bare number in a string is seconds, a JSON number is milliseconds', () => {
    assert.equal(load({ stopGrace: '30s' }).stopGraceMs, 30_000);
    assert.equal(load({ stopGrace: '1m' }).stopGraceMs, 60_000);
    assert.equal(load({ stopGrace: '10' }).stopGraceMs, 10_000);
    assert.equal(load({ stopGrace: 2500 }).stopGraceMs, 2500);
    assert.equal(load({ stopGrace: 0 }).stopGraceMs, 0);
    assert.equal(load({ stopGrace: '1h' }).stopGraceMs, 3_600_000);
  });
  test('bad: over an hour, negative, not a duration', () => {
    refused({ stopGrace: '2h' }, /^invalid config\.stopGrace "2h": too large; accepted: a duration from 0s to 1h, like 10s or 500ms, or a JSON number of milliseconds$/);
    refused({ stopGrace: -1 }, /^invalid config\.stopGrace -1: too small; accepted: a duration from 0s to 1h/);
    refused({ stopGrace: 'soon' }, /^invalid config\.stopGrace "soon": a duration like 500ms, 10s, 2m, 1h/);
  });
});
