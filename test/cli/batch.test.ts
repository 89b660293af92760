// `jobctl run --batch FILE|-`: many jobs from one process over one connection, through the real binary
// against a real daemon. What a script relies on: one id per line in input order, the command line's
// options as defaults, a bad line refusing the whole batch before anything starts, and exit statuses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobInfo } from '../../src/rpc/model.ts';
import { startTestDaemon, type TestDaemon } from '../support/daemon.ts';
import { assertExit, issueIdentity, jsonOf, waitEnded } from './helpers.ts';

let d: TestDaemon;
let dir: string;

before(async () => {
  d = await startTestDaemon();
  dir = mkdtempSync(join(tmpdir(), 'jobctl-batch-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await d.stop();
});

const jobCount = async (): Promise<number> => jsonOf<JobInfo[]>(await d.cli(['ps', '--json'])).length;
const lines = (...items: unknown[]): string => `${items.map((i) => JSON.stringify(i)).join('\n')}\n`;

test('300 lines from stdin: 300 ids, in the order of the lines, each job running its own line', async () => {
  const input = lines(...Array.from({ length: 300 }, (_, i) => ['echo', `line-${i}`]));
  const r = await d.cli(['run', '--batch', '-'], { input, timeoutMs: 120_000 });
  assertExit(r, 0, 'run --batch');
  assert.equal(r.stderr, '');
  const ids = r.stdout.trim().split('\n').map(Number);
  assert.equal(ids.length, 300);
  assert.equal(new Set(ids).size, 300, 'distinct ids');
  const byId = new Map(jsonOf<JobInfo[]>(await d.cli(['ps', '--json'])).map((job) => [job.id, job]));
  ids.forEach((id, i) => assert.deepEqual(byId.get(id)?.argv, ['echo', `line-${i}`], `id ${id} on line ${i + 1}`));
  const last = await waitEnded(d, ids[299] as number);
  assert.equal(last.state, 'exited');
  assert.equal((await d.cli(['logs', String(ids[299])])).stdout, 'line-299\n');
});

test("the command line's options are every line's defaults; a line's own name, cwd and env win", async () => {
  const file = join(dir, 'jobs.jsonl');
  writeFileSync(
    file,
    [
      '# comments and empty lines are skipped',
      '',
      JSON.stringify(['sh', '-c', 'echo "$A-$B" && pwd']),
      JSON.stringify({ argv: ['sh', '-c', 'echo "$A-$B" && pwd'], name: 'own', cwd: 'sub', env: { B: 'line' } }),
    ].join('\n'),
  );
  const sub = join(dir, 'sub');
  rmSync(sub, { recursive: true, force: true });
  mkdirSync(sub);
  const r = await d.cli(['run', '--batch', file, '--memory', '64M', '--name', 'batch', '--cwd', dir, '--clean-env', '--env', 'A=cli', '--env', 'B=cli', '--json']);
  assertExit(r, 0, 'run --batch FILE --json');
  const [first, second] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as JobInfo);
  assert.ok(first && second);
  assert.equal(first.name, 'batch');
  assert.equal(second.name, 'own');
  assert.equal(first.limits.memory, 64 * 1024 * 1024);
  assert.equal(second.limits.memory, 64 * 1024 * 1024);
  await waitEnded(d, second.id);
  await waitEnded(d, first.id);
  assert.equal((await d.cli(['logs', String(first.id)])).stdout, `cli-cli\n${dir}\n`);
  assert.equal((await d.cli(['logs', String(second.id)])).stdout, `cli-line\n${sub}\n`, 'env merged over the defaults, cwd relative to --cwd');
});

test('a bad line refuses the whole batch before anything starts, naming the line, the field and the value', async () => {
  const before = await jobCount();
  const cases: Array<[string, RegExp]> = [
    // Named as the line writes it: an array line has no "argv" key.
    [lines(['true'], ['true'], ['echo', 3]), /^jobctl: invalid line 3\[1\] 3: a string, got a number\n/],
    [lines({ argv: ['true'], env: { SEED: 7 } }), /^jobctl: invalid line 1\.env\.SEED 7: a string, got a number\n/],
    [lines({ argv: ['true'], env: { HUGE: 'x'.repeat(130_100) } }), /^jobctl: invalid line 1\.env\.HUGE "x+\.\.\.: at most 130046 bytes as UTF-8 \(got 130100\)\n/],
    [lines(['true'], { argv: ['true'], limits: { memory: 1 } }), /line 2\.limits .*one of the keys argv, name, cwd, env/],
    [`${JSON.stringify(['true'])}\necho hi\n`, /line 2 "echo hi": a JSON array of strings/],
    [lines(['true'], { name: 'no argv' }), /line 2\.argv/],
    ['\n# nothing\n', /at least one job/],
  ];
  for (const [input, message] of cases) {
    const r = await d.cli(['run', '--batch', '-'], { input });
    assertExit(r, 2, `input ${JSON.stringify(input)}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
  const missing = await d.cli(['run', '--batch', join(dir, 'no-such-file')]);
  assertExit(missing, 2, 'missing file');
  assert.match(missing.stderr, /--batch ".*no-such-file": a readable file of JSON lines, or - for stdin \(ENOENT\)/);
  assert.equal(await jobCount(), before, 'no job was started');
});

test("a line's env over the caps only with the command line's --env says that both count; nothing starts", async () => {
  const before = await jobCount();
  const big = 'v'.repeat(100_000);
  const r = await d.cli(['run', '--batch', '-', '--clean-env', '--env', `C=${big}`, '--env', `D=${big}`], { input: lines(['true'], { argv: ['true'], env: { A: big, B: big } }) });
  assertExit(r, 2, 'over the caps');
  assert.equal(
    r.stderr,
    'jobctl: invalid line 2.env "2 variables": at most 4096 variables and 384 KiB (393216 bytes) in all, counting NAME=VALUE of every variable, together with the environment the command line gives every line (--env, and yours unless --clean-env): 390.6 KiB (400012 bytes)\n',
  );
  assert.equal(r.stdout, '');
  assert.equal(await jobCount(), before, 'no job was started');
});

test('--batch takes no command and no -f', async () => {
  assertExit(await d.cli(['run', '--batch', '-', '--', 'true'], { input: lines(['true']) }), 2, 'with a command');
  const follow = await d.cli(['run', '--batch', '-', '-f'], { input: lines(['true']) });
  assertExit(follow, 2, 'with -f');
  assert.match(follow.stderr, /--follow true: not with --batch/);
});

test('a line whose command cannot start: its id is printed, stderr names the line, the rest run, exit 1', async () => {
  const r = await d.cli(['run', '--batch', '-'], { input: lines(['true'], ['/nonexistent/cmd'], ['true']) });
  assertExit(r, 1, 'one failed start');
  const ids = r.stdout.trim().split('\n').map(Number);
  assert.equal(ids.length, 3);
  assert.match(r.stderr, new RegExp(`^jobctl: line 2: job ${ids[1]} failed to start: .*ENOENT`, 'm'));
  assert.equal((await waitEnded(d, ids[2] as number)).state, 'exited');
});

test('a refusal by the daemon (a viewer may not start jobs) is reported with its line; nothing starts', async () => {
  const viewer = join(dir, 'viewer');
  await issueIdentity(d, 'vera', 'viewer', viewer);
  const before = await jobCount();
  const r = await d.cli(['run', '--identity', viewer, '--endpoint', d.endpoint, '--batch', '-'], { input: lines(['true'], ['true']) });
  assertExit(r, 1, 'refused');
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^jobctl: line 1: .*viewer.*0 of 2 jobs were submitted/m);
  assert.equal(await jobCount(), before);
});
