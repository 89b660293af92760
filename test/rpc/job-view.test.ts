// Lists and events carry a summary of each job's argv, and a list page never passes the frame limit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ARGV_SUMMARY_BYTES, listPage, summarizeJob } from '../../src/rpc/job-view.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.ts';

function job(id: number, argv: string[], cwd = '/tmp'): JobInfo {
  return {
    id,
    name: null,
    owner: 'alice',
    state: 'exited',
    argv,
    cwd,
    limits: {},
    exitCode: 0,
    signal: null,
    oomKilled: false,
    reason: null,
    pid: 1234,
    createdAt: new Date(0).toISOString(),
    startedAt: null,
    endedAt: null,
    usage: { cpuUsec: 0, memoryBytes: 0, memoryPeakBytes: null, pids: 0 },
    log: { storedBytes: 0, droppedBytes: 0, dropReason: null },
  };
}

describe('job view', () => {
  test('a short argv is left alone (same object, no flag)', () => {
    const j = job(1, ['make', '-j4']);
    assert.equal(summarizeJob(j), j);
  });

  test('a long argv is cut to the summary budget, keeps its first words, and is flagged', () => {
    const j = job(1, ['python3', 'train.py', ...Array.from({ length: 100 }, (_, i) => `--opt${i}=${'v'.repeat(100)}`)]);
    const s = summarizeJob(j);
    assert.equal(s.argvTruncated, true);
    assert.deepEqual(s.argv.slice(0, 2), ['python3', 'train.py']);
    assert.ok(Buffer.byteLength(JSON.stringify(s.argv)) <= ARGV_SUMMARY_BYTES);
    assert.ok(s.argv.length > 2 && s.argv.length < j.argv.length);
    assert.equal(j.argv.length, 102, 'the job itself is not changed');
  });

  test('one huge argument full of characters JSON escapes is cut within the budget too', () => {
    const s = summarizeJob(job(1, ['echo', '\u0001'.repeat(100_000)]));
    assert.ok(Buffer.byteLength(JSON.stringify(s.argv)) <= ARGV_SUMMARY_BYTES);
    assert.equal(s.argv[0], 'echo');
    assert.ok((s.argv[1] ?? '').length > 0);
  });

  test('a page of rows with long cwds stops before the frame limit, in order', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => job(1000 - i, ['true'], `/${'d'.repeat(4000)}`));
    const page = listPage(rows);
    assert.ok(page.length > 0 && page.length < rows.length);
    assert.deepEqual(page.map((j) => j.id), rows.slice(0, page.length).map((j) => j.id));
    assert.ok(Buffer.byteLength(JSON.stringify(page)) < MAX_FRAME_BYTES);
  });
});
