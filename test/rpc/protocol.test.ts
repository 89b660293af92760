import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, chooseSubprotocol, offeredVersions, parseSubprotocol, subprotocolFor } from '../../src/rpc/protocol.ts';
import { throwsCoded } from './assert-error.ts';

test('subprotocol tokens', () => {
  assert.equal(subprotocolFor(1), 'jobctl.v1');
  assert.equal(parseSubprotocol('jobctl.v1'), 1);
  assert.equal(parseSubprotocol(' jobctl.v12 '), 12);
  for (const t of ['jobctl.v0', 'jobctl.v01', 'jobctl.v', 'jobctl.1', 'other', 'jobctl.v1x', '']) assert.equal(parseSubprotocol(t), null, t);
  assert.deepEqual(offeredVersions('chat, jobctl.v2,jobctl.v1'), [2, 1]);
  assert.deepEqual(offeredVersions(new Set(['jobctl.v1'])), [1]);
  assert.deepEqual(offeredVersions(undefined), []);
});

test('negotiation picks a served version or explains the mismatch', () => {
  assert.deepEqual(chooseSubprotocol(`jobctl.v9, ${subprotocolFor(PROTOCOL_VERSION)}`), { version: PROTOCOL_VERSION, protocol: 'jobctl.v1' });
  throwsCoded(() => chooseSubprotocol('jobctl.v2'), 'PROTOCOL', /^the client speaks protocol v2; this daemon serves v1: upgrade the daemon, or use a client of its release$/);
  throwsCoded(() => chooseSubprotocol(undefined), 'PROTOCOL', /offered no jobctl protocol version/);
  throwsCoded(() => chooseSubprotocol(new Set(['mqtt'])), 'PROTOCOL', /offered no jobctl protocol version/);
});
