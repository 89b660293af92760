// The whole UI rendered by ink-testing-library: data from a store and a fake log store, keys written
// to its stdin, frames read back.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanup, render } from 'ink-testing-library';
import { App } from '../../src/tui/components/App.tsx';
import { TopStore } from '../../src/tui/model/top-store.ts';
import type { Role } from '../../src/rpc/roles.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import { FakeLogs, fakeActions, fakeJob, until } from './fakes.ts';

const KEY = {
  up: '\u001b[A',
  down: '\u001b[B',
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  home: '\u001b[H',
  end: '\u001b[F',
  ctrlC: '\u0003',
};

afterEach(() => cleanup());

function setup(options: { role?: Role; jobs?: JobInfo[]; columns?: number; rows?: number; logs?: FakeLogs } = {}) {
  const store = new TopStore({ notifyIntervalMs: 0 });
  store.setSession(options.role === 'user' ? 'alice' : 'root', options.role ?? 'admin');
  store.setEndpoint('wss://daemon.example:7443');
  store.setLink({ kind: 'live' });
  store.replaceJobs(options.jobs ?? [fakeJob(1, { name: 'build', state: 'exited', exitCode: 0, endedAt: new Date().toISOString() }), fakeJob(2, { name: 'serve' })]);
  store.flush();
  const logs = options.logs ?? new FakeLogs();
  const actions = fakeActions(logs);
  const size = { columns: options.columns ?? 100, rows: options.rows ?? 30 };
  const ui = render(<App store={store} actions={actions} interactive size={size} />);
  const frame = () => ui.lastFrame() ?? '';
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      ui.stdin.write(k);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const see = (what: string | RegExp, timeoutMs = 3000) =>
    until(`the frame to show ${what}`, () => (typeof what === 'string' ? frame().includes(what) : what.test(frame())), timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; the frame:\n${frame()}`);
    });
  return { store, logs, actions, ui, frame, press, see, size };
}

test('the main screen: header, table, selected job pane with its live tail, footer', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'starting server\n');
  logs.write(2, 'warning: port in use\n');
  const t = setup({ logs });
  await t.see('starting server');
  const f = t.frame();
  assert.match(f, /jobctl top · wss:\/\/daemon\.example:7443 · root \(admin\)/);
  assert.match(f, /● live/);
  assert.match(f, /1 running {2}1 exited {2}0 stopped/);
  assert.match(f, /ID NAME\/COMMAND/);
  assert.match(f, /› +2 serve +alice +running/);
  assert.match(f, /1 build +alice +exited .* code 0/);
  assert.match(f, /── job 2 · serve · stdout\+stderr/);
  assert.match(f, /cmd +sleep 102/);
  assert.match(f, / {2}starting server/);
  assert.match(f, /▌ warning: port in use/);
  assert.match(f, /↑↓ select +⏎ log +s stop/);
  assert.match(f, /\? help +q quit/);
  // Newest first; the follow asked for the selected job only.
  assert.equal(t.logs.opened[0]?.id, 2);
});

test('fits 80×24: no line wider than the terminal, one row to spare', async () => {
  const t = setup({ columns: 80, rows: 24, jobs: [fakeJob(3, { name: 'a really long job name that goes on and on and on'.repeat(3), limits: { memory: 512 * 1024 * 1024 } })] });
  await t.see('── job 3');
  const lines = t.frame().split('\n');
  assert.ok(lines.length <= 23, `${lines.length} rows`);
  // ink-testing-library's stdout is 100 wide; the app draws in the 80 it was given.
  for (const line of lines) assert.ok([...line].length <= 80, `too wide: ${JSON.stringify(line)}`);
  assert.match(t.frame(), /10 MiB\/512 MiB/);
});

test('j/k and arrows select; Enter opens the log full-screen; Esc returns', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'job output line\n');
  const t = setup({ logs });
  await t.see('› ');
  await t.press('j');
  await t.see(/› +1 build/);
  await t.press(KEY.up);
  await t.see(/› +2 serve/);
  await t.press(KEY.down, KEY.enter);
  await t.see(/── job 1 · build · exited · stdout\+stderr · (following|end of output)/);
  assert.doesNotMatch(t.frame(), /NAME\/COMMAND/);
  assert.match(t.frame(), /PgUp\/PgDn\/Home scroll/);
  await t.press(KEY.escape);
  await t.see('NAME/COMMAND');
});

test('the full-screen log pages back through history read from the daemon, End follows again', async () => {
  const logs = new FakeLogs();
  for (let i = 1; i <= 1000; i++) logs.write(i % 10 === 0 ? 2 : 1, `entry ${i}\n`);
  const t = setup({ logs, jobs: [fakeJob(5, { name: 'chatty' })] });
  await t.press(KEY.enter);
  await t.see('entry 1000');
  await t.press(KEY.pageUp);
  await t.see('scrolled back (End follows)');
  await t.see(/entry 9[0-9][0-9]/);
  assert.doesNotMatch(t.frame(), /entry 1000/);
  const opened = logs.opened.length;
  await t.press(KEY.home);
  await t.see('top of output');
  await t.see(/^ +entry 1$/m);
  assert.ok(logs.opened.length > opened, 'history was read from the daemon');
  assert.ok(logs.opened.slice(opened).every((p) => p.follow === false), 'history pages are not follows');
  await t.press(KEY.pageDown);
  await t.see(/^ +entry 2[0-9]$/m);
  await t.press(KEY.end);
  await t.see(/following/);
  logs.write(1, 'entry 1001\n');
  await t.see('entry 1001');
});

test('keys typed ahead in one read act one after another', async () => {
  const t = setup({ jobs: [fakeJob(1, { name: 'one' }), fakeJob(2, { name: 'two' }), fakeJob(3, { name: 'three' })] });
  await t.see(/› +3 three/);
  t.ui.stdin.write('jj');
  await t.see(/› +1 one/);
  t.ui.stdin.write('k/tw');
  await t.see('/ tw█');
  await t.see(/› +2 two/);
});

test('Tab cycles stdout / stderr / both', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'to stdout\n');
  logs.write(2, 'to stderr\n');
  const t = setup({ logs, jobs: [fakeJob(1)] });
  await t.see('to stderr');
  await t.press(KEY.tab);
  await t.see('stdout only');
  await t.see('to stdout');
  assert.doesNotMatch(t.frame(), /to stderr/);
  await t.press(KEY.tab);
  await t.see('stderr only');
  await t.see('▌ to stderr');
  assert.doesNotMatch(t.frame(), /to stdout/);
  await t.press(KEY.tab);
  await t.see(/stdout\+stderr[\s\S]*to stdout[\s\S]*to stderr/);
  assert.deepEqual(logs.opened.map((p) => p.streams), [undefined, ['stdout'], ['stderr'], undefined]);
});

test('s asks first, y stops the job; any other key cancels', async () => {
  const t = setup();
  await t.see('› ');
  await t.press('s');
  await t.see('Stop job 2 (serve)?');
  await t.press('n');
  await t.see('stop cancelled');
  assert.deepEqual(t.actions.stopped, []);
  await t.press('s');
  await t.see('Stop job 2 (serve)?');
  await t.press('y');
  await t.see('job 2 stopped (signal SIGTERM)');
  assert.deepEqual(t.actions.stopped, [2]);
  // A finished job cannot be stopped: the key says why.
  await t.press('j', 's');
  await t.see('s stop: not running');
  assert.deepEqual(t.actions.stopped, [2]);
});

test('a viewer sees the controls it may not use greyed out with the reason', async () => {
  const t = setup({ role: 'viewer' });
  await t.see('s stop (viewer: read-only)');
  await t.press('s');
  await t.see('s stop: viewer: read-only');
  assert.deepEqual(t.actions.stopped, []);
  await t.press('a');
  assert.deepEqual(t.actions.allCalls, [true]);
  await t.press('?');
  await t.see('Your role is viewer');
});

test('a user cannot toggle all users; an admin can', async () => {
  const u = setup({ role: 'user' });
  await u.see('a all users (admin or viewer only)');
  await u.press('a');
  await u.see('a all users: admin or viewer only');
  assert.deepEqual(u.actions.allCalls, []);
  cleanup();
  const a = setup({ role: 'admin' });
  await a.press('a');
  await until('setAll', () => a.actions.allCalls.length === 1);
  a.store.setAll(true);
  a.store.flush();
  await a.see(/· all users/);
});

test('/ filters by name, command or owner as you type; Esc clears', async () => {
  const t = setup({ jobs: [fakeJob(1, { name: 'nightly-build' }), fakeJob(2, { argv: ['make', 'test'] }), fakeJob(3, { owner: 'bob' })] });
  await t.see('nightly-build');
  await t.press('/', 'm', 'a', 'k');
  await t.see('/ mak█');
  await t.see(/filter “mak”: 1 shown/);
  assert.doesNotMatch(t.frame(), /nightly-build/);
  await t.press(KEY.enter);
  await t.see(/› +2 make test/);
  await t.press('/');
  await t.press('\u007f', '\u007f', '\u007f', 'b', 'o', 'b', KEY.enter);
  await t.see(/› +3 sleep 103 +bob/);
  await t.press(KEY.escape);
  await t.see('nightly-build');
  assert.doesNotMatch(t.frame(), /filter “/);
});

test('job names, commands and output cannot drive the terminal', async () => {
  const logs = new FakeLogs();
  logs.write(1, 'evil \u001b]0;owned\u0007title \u001b[2J\u001b[31mred\u001b[0m\n');
  const t = setup({ logs, jobs: [fakeJob(1, { name: 'x\u001b[2Jy', argv: ['echo', '\u001b]52;c;AAAA\u0007'] })] });
  await t.see('evil title red');
  const f = t.frame();
  assert.match(f, /x\\u001b\[2Jy/);
  assert.match(f, /'\\u001b\]52;c;AAAA\\u0007'/);
  assert.doesNotMatch(f, /\u001b\]|\u001b\[2J|\u0007/);
});

test('the connection state is shown, with the retry countdown', async () => {
  const t = setup();
  t.store.setLink({ kind: 'lost', error: 'connection to the daemon closed', attempt: 3, retryAt: Date.now() + 4000 });
  t.store.flush();
  await t.see(/✕ connection lost \(retry in [34]s, attempt 3\)/);
  t.store.setLink({ kind: 'live' });
  t.store.flush();
  await t.see('● live');
});

test('live updates: a new job and usage events appear without any key', async () => {
  const t = setup({ jobs: [fakeJob(1, { name: 'first' })] });
  await t.see('first');
  t.store.upsertJob(fakeJob(2, { name: 'second', limits: { memory: 1024 * 1024 * 1024 } }));
  t.store.addUsage(2, { cpuUsec: 0, memoryBytes: 100 * 1024 * 1024, memoryPeakBytes: 0, pids: 1 });
  await new Promise((r) => setTimeout(r, 20));
  t.store.addUsage(2, { cpuUsec: 1_000_000, memoryBytes: 200 * 1024 * 1024, memoryPeakBytes: 0, pids: 1 });
  t.store.flush();
  await t.see(/2 second +alice +running +\d+% +200 MiB\/1 GiB/);
  // The selection stays on the job it was on.
  assert.match(t.frame(), /› +1 first/);
});

test('help lists the keys; q quits', async () => {
  const t = setup();
  await t.press('?');
  await t.see('PgUp PgDn Home');
  await t.press('x');
  await t.see('NAME/COMMAND');
  await t.press('q');
  // Ink unmounts: no further frames.
  const frames = t.ui.frames.length;
  t.store.upsertJob(fakeJob(9, { name: 'late' }));
  t.store.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.ui.frames.length, frames);
});

test('a terminal smaller than the UI needs says so', async () => {
  const t = setup({ columns: 50, rows: 10 });
  await t.see('needs at least 60×16');
});
