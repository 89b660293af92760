import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayLine } from '../../src/tui/model/sanitize.ts';
import { LineSplitter, startOfLastLines } from '../../src/tui/model/line-splitter.ts';
import { LineRing } from '../../src/tui/model/line-ring.ts';
import { TailBuffer } from '../../src/tui/model/tail-buffer.ts';
import { noteLine, type LogLine } from '../../src/tui/model/log-line.ts';
import { sparkline } from '../../src/tui/model/sparkline.ts';
import { EMPTY_HISTORY, HISTORY_SAMPLES, addUsage } from '../../src/tui/model/usage-history.ts';
import { INITIAL_VIEW, effectiveSelection, viewReducer } from '../../src/tui/model/view-state.ts';
import { commandFor } from '../../src/tui/model/keymap.ts';
import { allDisabled, keyHints, stopDisabled } from '../../src/tui/model/hints.ts';
import { listLayout, logLayout, scrollOffset, tableColumns } from '../../src/tui/model/layout.ts';
import { cpuText, matchesFilter, memoryText, resultText } from '../../src/tui/model/job-text.ts';
import { fakeJob } from './fakes.ts';

const texts = (lines: LogLine[]) => lines.map((l) => l.text);

test('displayLine removes escape sequences, keeps the last carriage-return state, expands tabs', () => {
  assert.equal(displayLine('\u001b[31mred\u001b[0m plain'), 'red plain');
  assert.equal(displayLine('title\u001b]0;pwned\u0007 after'), 'title after');
  assert.equal(displayLine('\u001b]52;c;ZXZpbA==\u001b\\clip'), 'clip');
  assert.equal(displayLine('10%\r50%\r100%'), '100%');
  assert.equal(displayLine('windows line\r'), 'windows line');
  assert.equal(displayLine('a\tb'), 'a       b');
  assert.equal(displayLine('bell\u0007 nul\u0000'), 'bell\\u0007 nul\\u0000');
  assert.equal(displayLine('\u009b2Jc1'), 'c1');
  assert.equal(displayLine('rtl \u202e override'), 'rtl \\u202e override');
});

test('LineSplitter joins lines across chunks per stream and records where each starts', () => {
  const s = new LineSplitter();
  const out: LogLine[] = [];
  const emit = (l: LogLine) => out.push(l);
  s.push(1, Buffer.from('hel'), 1, emit);
  s.push(2, Buffer.from('err one\nerr'), 2, emit);
  s.push(1, Buffer.from('lo\nworld\n'), 3, emit);
  s.push(2, Buffer.from(' two\n'), 4, emit);
  assert.deepEqual(
    out.map((l) => [l.kind, l.text, l.seq, l.offset]),
    [
      [2, 'err one', 2, 0],
      [1, 'hello', 1, 0],
      [1, 'world', 3, 3],
      [2, 'err two', 2, 8],
    ],
  );
  assert.deepEqual(s.pending(), []);
  s.push(1, Buffer.from('partial'), 5, emit);
  assert.deepEqual(texts(s.pending()), ['partial']);
});

test('LineSplitter cuts long lines at a character boundary and bounds what it keeps', () => {
  const s = new LineSplitter(10);
  const out: LogLine[] = [];
  s.push(1, Buffer.from('ééééééééé\n'), 1, (l) => out.push(l)); // 18 bytes
  assert.equal(out[0]?.text, 'ééééé …');
  for (let i = 0; i < 100; i++) s.push(1, Buffer.alloc(1000, 0x61), 2 + i, (l) => out.push(l));
  s.push(1, Buffer.from('\n'), 200, (l) => out.push(l));
  assert.equal(out[1]?.text, 'aaaaaaaaaa …');
});

test('startOfLastLines and keepLast skip what cannot be shown without decoding it', () => {
  const data = Buffer.from('a\nb\nc\npartial');
  assert.equal(startOfLastLines(data, 2), 2);
  assert.equal(startOfLastLines(data, 3), 0);
  assert.equal(startOfLastLines(Buffer.from('a\nb\n'), 2), 0);
  const s = new LineSplitter();
  const out: LogLine[] = [];
  s.push(1, Buffer.from('carry-'), 1, (l) => out.push(l));
  const skipped = s.push(1, Buffer.from('x\n1\n2\n3\ntail'), 2, (l) => out.push(l), 2);
  assert.equal(skipped, true);
  assert.deepEqual(texts(out), ['2', '3']);
  assert.deepEqual(texts(s.pending()), ['tail']);
});

test('LineRing keeps the newest lines in order', () => {
  const r = new LineRing(3);
  for (const t of ['1', '2', '3', '4', '5']) r.push(noteLine(t));
  assert.deepEqual(texts(r.tail()), ['3', '4', '5']);
  assert.deepEqual(texts(r.tail(2)), ['4', '5']);
  assert.equal(r.size, 3);
  r.clear();
  assert.deepEqual(r.tail(), []);
  assert.throws(() => new LineRing(0), RangeError);
});

test('TailBuffer holds at most its capacity however much is appended', () => {
  const t = new TailBuffer(5);
  const big = Buffer.from(Array.from({ length: 100_000 }, (_, i) => `line ${i}`).join('\n') + '\n');
  t.append(1, big, 7);
  assert.deepEqual(texts(t.lines()), ['line 99995', 'line 99996', 'line 99997', 'line 99998', 'line 99999']);
  t.append(2, Buffer.from('oops'), 8);
  assert.deepEqual(texts(t.lines(3)), ['line 99998', 'line 99999', 'oops']);
  assert.equal(t.lastSeq, 8);
  assert.deepEqual(texts(t.finishedLines()).length, 5);
});

test('sparkline scales to the maximum given', () => {
  assert.equal(sparkline([0, 50, 100], 10, 100), '▁▅█');
  assert.equal(sparkline([1, 2, 3, 4], 2), '▆█');
  assert.equal(sparkline([], 5), '');
});

test('usage history: CPU % from CPU time between samples, bounded history', () => {
  let h = addUsage(EMPTY_HISTORY, { cpuUsec: 0, memoryBytes: 100, memoryPeakBytes: 100, pids: 1 }, 1000);
  assert.equal(h.cpuPercent, null);
  h = addUsage(h, { cpuUsec: 500_000, memoryBytes: 200, memoryPeakBytes: 200, pids: 1 }, 2000);
  assert.equal(h.cpuPercent, 50);
  h = addUsage(h, { cpuUsec: 2_500_000, memoryBytes: 200, memoryPeakBytes: 200, pids: 1 }, 3000);
  assert.equal(h.cpuPercent, 200);
  for (let i = 0; i < 100; i++) h = addUsage(h, { cpuUsec: 2_500_000 + i, memoryBytes: i, memoryPeakBytes: 200, pids: 1 }, 4000 + i * 1000);
  assert.equal(h.cpu.length, HISTORY_SAMPLES);
  assert.equal(h.memory.length, HISTORY_SAMPLES);
});

test('view reducer: selection follows ids, clamps, survives list changes', () => {
  const ids = [9, 7, 5];
  assert.equal(effectiveSelection(INITIAL_VIEW, ids), 9);
  let s = viewReducer(INITIAL_VIEW, { type: 'move', delta: 1, ids });
  assert.equal(s.selectedId, 7);
  s = viewReducer(s, { type: 'move', delta: 10, ids });
  assert.equal(s.selectedId, 5);
  s = viewReducer(s, { type: 'move', delta: -Infinity, ids });
  assert.equal(s.selectedId, 9);
  assert.equal(effectiveSelection({ selectedId: 42 }, ids), 9);
  s = viewReducer(s, { type: 'filter-start' });
  s = viewReducer(s, { type: 'filter-type', text: 'ma' });
  s = viewReducer(s, { type: 'filter-type', text: 'ké' });
  s = viewReducer(s, { type: 'filter-erase' });
  assert.equal(s.draft, 'mak');
  s = viewReducer(s, { type: 'filter-accept' });
  assert.deepEqual([s.overlay, s.filter], [null, 'mak']);
  s = viewReducer(s, { type: 'cycle-streams' });
  s = viewReducer(s, { type: 'cycle-streams' });
  assert.equal(s.streams, 'stderr');
  assert.equal(viewReducer(s, { type: 'cycle-streams' }).streams, 'both');
});

test('keymap: the same key means different things under a prompt', () => {
  assert.deepEqual(commandFor('q', {}, null), { type: 'quit' });
  assert.deepEqual(commandFor('q', {}, 'filter'), { type: 'type', text: 'q' });
  assert.deepEqual(commandFor('c', { ctrl: true }, 'filter'), { type: 'quit' });
  assert.deepEqual(commandFor('', { pageUp: true }, null), { type: 'move', by: 'page', delta: -1 });
  assert.deepEqual(commandFor('', { home: true }, null), { type: 'move', by: 'end', delta: -1 });
  assert.deepEqual(commandFor('j', {}, null), { type: 'move', by: 'line', delta: 1 });
  assert.deepEqual(commandFor('y', {}, 'confirm-stop'), { type: 'yes' });
  assert.deepEqual(commandFor('s', {}, 'confirm-stop'), { type: 'no' });
  assert.deepEqual(commandFor('', { return: true }, 'confirm-stop'), { type: 'no' });
  assert.deepEqual(commandFor('\t', { tab: true }, null), { type: 'streams' });
  assert.deepEqual(commandFor('x', {}, 'help'), { type: 'back' });
  assert.deepEqual(commandFor('\u001b[31m', {}, 'filter'), { type: 'type', text: '[31m' });
});

test('hints: controls a role may not use say why', () => {
  const job = { state: 'running' as const, owner: 'alice' };
  assert.equal(stopDisabled({ role: 'viewer', user: 'v', job }), 'viewer: read-only');
  assert.equal(stopDisabled({ role: 'user', user: 'bob', job }), 'not your job');
  assert.equal(stopDisabled({ role: 'admin', user: 'root', job: { ...job, state: 'exited' } }), 'not running');
  assert.equal(stopDisabled({ role: 'user', user: 'alice', job }), null);
  assert.equal(allDisabled({ role: 'user' }), 'admin or viewer only');
  assert.equal(allDisabled({ role: 'viewer' }), null);
  const hints = keyHints({ screen: 'list', role: 'viewer', user: 'v', job, streams: 'both', all: true, following: true });
  assert.deepEqual(hints.find((h) => h.key === 's'), { key: 's', label: 'stop', disabled: 'viewer: read-only' });
});

test('layout: every part fits from 80×24 up, one row spare', () => {
  for (const rows of [16, 24, 30, 50, 120]) {
    const l = listLayout(rows);
    assert.equal(l.header + 1 + l.tableRows + 1 + l.details + l.logRows + l.footer, rows - 1, `rows ${rows}`);
    assert.ok(l.tableRows >= 3 && l.logRows >= 1);
    assert.equal(logLayout(rows).logRows + 2, rows - 1);
  }
  for (const columns of [60, 80, 99, 100, 120, 200]) {
    const c = tableColumns(columns);
    const count = c.trend > 0 ? 10 : 9;
    const total = Object.values(c).reduce((a, b) => a + b, 0) + count - 1;
    assert.ok(total <= columns || c.name === 8, `columns ${columns}: ${total}`);
    if (columns >= 80) assert.equal(total, columns);
  }
  assert.equal(scrollOffset(0, 100, 10), 0);
  assert.equal(scrollOffset(50, 100, 10), 45);
  assert.equal(scrollOffset(99, 100, 10), 90);
});

test('job text: results with OOM, memory against the limit, filter matches', () => {
  assert.equal(resultText(fakeJob(1, { state: 'exited', exitCode: 0 })), 'code 0');
  assert.equal(resultText(fakeJob(1, { state: 'exited', exitCode: 137, signal: null, oomKilled: true })), 'code 137 OOM');
  assert.equal(resultText(fakeJob(1, { state: 'stopped', signal: 'SIGTERM' })), 'SIGTERM');
  assert.equal(resultText(fakeJob(1, { state: 'running', oomKilled: true })), 'OOM');
  assert.equal(resultText(fakeJob(1, { state: 'failed', reason: 'no such file\u001b[2J' })), 'no such file\\u001b[2J');
  assert.equal(memoryText(fakeJob(1, { limits: { memory: 256 * 1024 * 1024 } })), '10 MiB/256 MiB');
  assert.equal(memoryText(fakeJob(1, { state: 'exited' })), '12 MiB');
  assert.ok(matchesFilter(fakeJob(1, { name: 'Nightly Build' }), 'nightly'));
  assert.ok(matchesFilter(fakeJob(1), 'ALICE'));
  assert.ok(matchesFilter(fakeJob(1), 'sleep 101'));
  assert.ok(!matchesFilter(fakeJob(1), 'make'));
  assert.equal(cpuText({ job: fakeJob(1), usage: { ...EMPTY_HISTORY, cpuPercent: 3.14159 } }), '3.1%');
  assert.equal(cpuText({ job: fakeJob(1), usage: { ...EMPTY_HISTORY, cpuPercent: 150.2 } }), '150%');
});
