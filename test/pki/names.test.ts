import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { defaultServerNames, ipToBytes, parseServerName, parseServerNames } from '../../src/pki/names.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('ipToBytes: IPv4, IPv6 with ::, embedded IPv4', () => {
  const table: Array<[string, string]> = [
    ['127.0.0.1', '7f000001'],
    ['0.0.0.0', '00000000'],
    ['::1', '00000000000000000000000000000001'],
    ['::', '00000000000000000000000000000000'],
    ['fe80::1:2', 'fe800000000000000000000000010002'],
    ['2001:db8::', '20010db8000000000000000000000000'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
    ['::ffff:10.1.2.3', '00000000000000000000ffff0a010203'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001'],
  ];
  for (const [ip, bytes] of table) assert.equal(hex(ipToBytes(ip)), bytes, ip);
});

test('parseServerName: kinds and normalization', () => {
  assert.deepEqual(parseServerName('Host.Example.COM.'), { kind: 'dns', name: 'host.example.com' });
  assert.equal(parseServerName('[::1]').kind, 'ip');
  assert.equal(parseServerName('*.example.com').kind, 'dns');
  assert.equal(parseServerName('my_host').kind, 'dns');
  assert.equal(parseServerNames(['localhost', 'LOCALHOST', '::1', '0:0:0:0:0:0:0:1']).length, 2);
});

test('defaultServerNames: local names, host name, extras', () => {
  const names = defaultServerNames(['jobs.example.com']);
  assert.deepEqual(names.slice(0, 3), ['localhost', '127.0.0.1', '::1']);
  assert.ok(names.includes('jobs.example.com'));
  assert.ok(names.includes(hostname().toLowerCase()));
});
