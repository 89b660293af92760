// The daemon ↔ jobctl-spawner wire format, byte by byte (no process).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EVENT_BYTES,
  EV_EXITED,
  EV_FAILED,
  EventReader,
  MAX_REQUEST_BYTES,
  Stage,
  decodeWaitStatus,
  describeFailure,
  encodeOpened,
  encodeSpawn,
} from '../../src/jobs/spawner/protocol.ts';

function event(...ints: number[]): Buffer {
  const b = Buffer.alloc(EVENT_BYTES);
  ints.forEach((n, i) => b.writeInt32LE(n, i * 4));
  return b;
}

describe('spawner protocol', () => {
  test('a SPAWN frame holds its size, type, token, counts and NUL-terminated strings in order', () => {
    const frame = encodeSpawn(7, { cwd: '/w', procsFiles: ['/cg/a', '/cg/b'], argv: ['echo', 'é'], env: { 'a.b': '1', X: '' } });
    assert.equal(frame.readUInt32LE(0), frame.length - 4);
    assert.deepEqual([1, 2, 3, 4, 5].map((i) => frame.readUInt32LE(i * 4)), [1, 7, 2, 2, 2]);
    const strings = frame.subarray(24).toString('utf8').split('\0');
    assert.deepEqual(strings, ['/w', '/cg/a', '/cg/b', 'echo', 'é', 'a.b=1', 'X=', '']);
  });

  test('a request over the spawner limit is refused before anything is sent', () => {
    const huge = 'x'.repeat(MAX_REQUEST_BYTES);
    assert.throws(() => encodeSpawn(1, { cwd: '/', procsFiles: [], argv: [huge], env: {} }), /over the spawner's \d+-byte limit/);
  });

  test('an OPENED frame is 12 bytes: size 8, type 2, token', () => {
    const frame = encodeOpened(9);
    assert.deepEqual([0, 1, 2].map((i) => frame.readUInt32LE(i * 4)), [8, 2, 9]);
  });

  test('events split at any byte come out whole and in order', () => {
    const bytes = Buffer.concat([event(EV_FAILED, 1, 42, Stage.exec, 2, 0), event(EV_EXITED, 1, 42, 127 << 8, 0, 0)]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new EventReader();
      const got = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      assert.deepEqual(
        got.map((e) => [e.type, e.token, e.pid, e.a]),
        [
          [EV_FAILED, 1, 42, Stage.exec],
          [EV_EXITED, 1, 42, 127 << 8],
        ],
      );
    }
  });

  test('wait statuses decode to an exit code or a signal name', () => {
    assert.deepEqual(decodeWaitStatus(3 << 8), { code: 3, signal: null });
    assert.deepEqual(decodeWaitStatus(9), { code: null, signal: 'SIGKILL' });
    assert.deepEqual(decodeWaitStatus(15 | 0x80), { code: null, signal: 'SIGTERM' }); // core dumped bit
  });

  test('failures are described with the thing, the value and the OS reason', () => {
    const request = { cwd: '/gone', procsFiles: ['/sys/fs/cgroup/memory/x/cgroup.procs'], argv: ['prog'], env: {} };
    const at = (stage: number, errno: number, index = 0) => describeFailure({ type: EV_FAILED, token: 1, pid: 5, a: stage, b: errno, c: index }, request);
    assert.equal(at(Stage.join, 13), 'could not join cgroup /sys/fs/cgroup/memory/x/cgroup.procs: EACCES: permission denied');
    assert.equal(at(Stage.cwd, 2), 'cwd "/gone": ENOENT: no such file or directory');
    assert.equal(at(Stage.exec, 2), '"prog": ENOENT: no such file or directory');
    assert.match(at(Stage.fork, 11), /could not create the job's process: EAGAIN/);
  });
});
