// Bad input at the command line, and hostile text shown to a terminal.
// 1. Random subcommands, flags and values to the real bin/jobctl against a real daemon: the exit status
//    is 0, 1 or 2 (run -f and wait: the job's own, and the jobs here exit 0 or 1), stderr never holds a
//    stack trace, and nothing but `logs`/`run -f` (raw by design) writes an ESC byte.
// 2. Hostile job text — terminal escapes and control characters in argv, cwd and failure reasons,
//    bidi overrides, traversal-looking names, ids like ../../etc — never reaches the terminal raw
//    through ps / status / run / stop / wait messages.
// SHORT 80 invocations; JOBCTL_LONG=1: 2,000. JOBCTL_SEED=N replays a run.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { JobInfo } from '../../src/rpc/model.ts';
import type { CliResult } from '../support/daemon.ts';
import { adminIdentity, assertExit, connect, daemon, fuzzSeed, jsonOf, rng, scale, spec, tempDir } from './helpers.ts';

const INVOCATIONS = scale(80, 2000);
const PARALLEL = 4;

/** A stack trace line as Node prints them ("    at fn (file.js:1:2)"). */
const STACK = /^\s+at .*(\(.*:\d+:\d+\)|:\d+:\d+)$/m;
/** C0 controls except tab and newline, and DEL. */
const C0_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
/** Bytes a terminal acts on: C0 controls except tab and newline, DEL, and C1 controls (as UTF-8). */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u0080-\u009f\u202a-\u202e\u2066-\u2069]/;

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;

const HOSTILE = [
  '\u001b[2J\u001b[H',
  '\u001b]0;pwned\u0007',
  '\u001b[31mred',
  '\u009b31m',
  'a\rb',
  'tab\there',
  'nul\u0000byte',
  '\u202egnp.exe',
  '../../etc',
  '../../../../../../etc/passwd',
  '/etc/shadow',
  '--',
  '-',
  '',
  ' ',
  '💥',
  'x'.repeat(5000),
];
const NUMBERS = ['0', '-1', '1', '1.5', '1e3', '1e309', 'NaN', 'Infinity', '-Infinity', '0x10', '99999999999999999999', '007', '+5', '2147483648', '9007199254740993'];
const SIZES = ['256M', '1T', '-5K', '1.5G', 'abc', '0', '1', '10P', '1e9', '512Mi', '4096', ' 1M'];
const DURATIONS = ['10s', '-1s', '0', '1h', '999999h', 'x', '1.5s', '100ms', '1e3s', '2h30m'];
/** Flags of any command, and odd spellings. */
const GLOBAL_FLAGS = ['--home', '--endpoint', '--identity', '--autostart', '--no-autostart', '--help', '-h', '--version', '-V', '--bogus', '-z', '--', '---', '--=x', '--json=maybe', '--no-json'];
/** Each command's own flags: most picks come from here, so that most lines get past the parser. */
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  run: ['--cpu', '--memory', '--pids', '--io-read', '--io-write', '--name', '--env', '--clean-env', '--cwd', '-f', '--follow', '--json'],
  ps: ['--all', '-a', '--state', '--limit', '--json', '--limit=-3'],
  status: ['--json'],
  stop: ['--grace', '--json'],
  wait: [],
  logs: ['-f', '--follow', '--tail', '--stream', '--timestamps', '-t', '--json', '--tail=0'],
  certs: ['--user', '--role', '--out', '--days', '--serial', '--json'],
  info: ['--json'],
  audit: ['--limit', '--json'],
};
const FLAG_VALUES: Record<string, readonly string[]> = {
  '--cpu': [...SIZES, ...NUMBERS],
  '--memory': SIZES,
  '--pids': NUMBERS,
  '--io-read': SIZES,
  '--io-write': SIZES,
  '--grace': DURATIONS,
  '--tail': NUMBERS,
  '--limit': NUMBERS,
  '--days': NUMBERS,
  '--state': ['running', 'exited', 'bogus', 'lost', ''],
  '--stream': ['stdout', 'stderr', 'both', 'neither', ''],
  '--role': ['user', 'viewer', 'admin', 'root', ''],
  '--endpoint': ['wss://127.0.0.1:1', 'ws://x', 'http://127.0.0.1', 'wss://[::1', 'nonsense', ''],
  '--serial': ['zz', '1234abcd', '', '-1'],
};

/** One random command line (no daemon, service or top: they start processes or need a terminal). */
function randomArgs(r: Rand, ids: readonly string[]): string[] {
  const command = pick(r, ['run', 'run', 'ps', 'status', 'stop', 'wait', 'logs', 'certs', 'info', 'audit', 'completion', 'bogus', '', '--help', 'ps ps', 'STATUS']);
  const args: string[] = command === '' ? [] : [command];
  if (command === 'certs') args.push(pick(r, ['issue', 'list', 'revoke', 'bogus', '']));
  if (['status', 'stop', 'wait', 'logs'].includes(command) && r() < 0.9) args.push(pick(r, [...ids, ...NUMBERS, ...HOSTILE]));
  const own = COMMAND_FLAGS[command] ?? [];
  for (let n = Math.floor(r() * 5); n > 0; n--) {
    const flag = own.length > 0 && r() < 0.8 ? pick(r, own) : pick(r, GLOBAL_FLAGS);
    args.push(flag);
    if (r() < 0.85 && !['--', '-f', '--follow', '--json', '--all', '-a', '--help', '-h', '--version', '-V', '--timestamps', '-t', '--clean-env'].includes(flag)) {
      args.push(pick(r, FLAG_VALUES[flag] ?? [...HOSTILE, ...NUMBERS, 'K=V', '=V', 'K=']));
    }
  }
  // A flag given twice (yargs makes it an array).
  const flags = args.filter((a) => a.startsWith('-') && a !== '--');
  if (flags.length > 0 && r() < 0.25) {
    const flag = pick(r, flags);
    args.push(flag, pick(r, FLAG_VALUES[flag] ?? ['x', '1']));
  }
  if (command === 'run' && r() < 0.9) args.push('--', ...pick(r, [['true'], ['false'], ['nonexistent-command-xyz'], ['echo', pick(r, HOSTILE)], ['/'], ['./relative-nothing']]));
  return args.filter((a) => !a.includes('\u0000')); // execve cannot carry NUL
}

/** The ways a CLI run can be wrong; [] when it is right. */
function cliProblems(args: string[], r: CliResult): string[] {
  const problems: string[] = [];
  const raw = args[0] === 'logs' || (args[0] === 'run' && args.some((a) => a === '-f' || a === '--follow'));
  if (r.code === null) problems.push(`ended by ${r.signal}`);
  else if (![0, 1, 2].includes(r.code)) problems.push(`exit ${r.code}`);
  if (STACK.test(r.stderr)) problems.push(`stack trace: ${r.stderr.slice(0, 600)}`);
  if (/\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/.test(r.stderr)) problems.push(`JS error: ${r.stderr.slice(0, 300)}`);
  // --json output is JSON's own escaping: no C0 control (ESC included) appears raw; C1 and bidi
  // characters are valid JSON text and stay (see docs/RELIABILITY.md, "weak points").
  const json = args.includes('--json') && r.stdout.trimStart().match(/^[[{]/);
  if (!raw && (json ? C0_CONTROL : TERMINAL_CONTROL).test(r.stdout)) problems.push(`control character on stdout: ${JSON.stringify(r.stdout.slice(0, 300))}`);
  if (!raw && TERMINAL_CONTROL.test(r.stderr)) problems.push(`control character on stderr: ${JSON.stringify(r.stderr.slice(0, 300))}`);
  return problems;
}

test(`hostile job text is escaped by ps, status, run, stop and wait`, { timeout: 120_000 }, async (t) => {
  const d = await daemon(t);
  const c = await connect(t, d.endpoint, adminIdentity(d));
  const base = tempDir(t);
  // A working directory whose name is a terminal escape (cwd is shown by status).
  const evilDir = join(base, '\u001b]0;owned\u0007\u001b[2J');
  mkdirSync(evilDir);
  const made: JobInfo[] = [];
  const start = async (argv: string[], extra: { name?: string; cwd?: string } = {}) => {
    const job = await c.call('job.start', spec(argv, extra));
    made.push(await c.call('job.wait', { id: job.id }));
  };
  await start(['sh', '-c', 'printf "\\033[2J\\033]0;title\\007out\\n"'], { name: '../../etc' });
  await start(['echo', '\u001b[31mred\u001b[0m', '\u009b1m', 'bell\u0007', 'cr\rlf'], { cwd: evilDir });
  await start(['\u001b]0;missing-command\u0007', '\u202egnp.exe']); // failed: the reason names argv[0]
  await start(['sh', '-c', 'exit 1'], { name: 'name with spaces and "quotes"' });
  // Names with control characters are refused outright, with a message that does not echo them raw.
  for (const name of ['\u001b[31mevil', '\u202egnp.exe', 'bell\u0007', '\u009b1m']) {
    const refused = await d.cli(['run', '--name', name, '--', 'true']);
    assertExit(refused, 2, `the name ${JSON.stringify(name)} is a usage error`);
    assert.doesNotMatch(refused.stderr, TERMINAL_CONTROL);
  }

  const outputs: Array<[string, CliResult]> = [
    ['ps', await d.cli(['ps'])],
    ['ps --all', await d.cli(['ps', '--all'])],
    ['ps --json', await d.cli(['ps', '--json'])],
    ...(await Promise.all(made.map(async (j) => [`status ${j.id}`, await d.cli(['status', String(j.id)])] as [string, CliResult]))),
    ...(await Promise.all(made.map(async (j) => [`status --json ${j.id}`, await d.cli(['status', '--json', String(j.id)])] as [string, CliResult]))),
    ...(await Promise.all(made.map(async (j) => [`wait ${j.id}`, await d.cli(['wait', String(j.id)])] as [string, CliResult]))),
    ...(await Promise.all(made.map(async (j) => [`stop ${j.id}`, await d.cli(['stop', String(j.id)])] as [string, CliResult]))),
    ['run (fails to start)', await d.cli(['run', '--', '\u001b[2Jno-such-command'])],
    ['status ../../etc', await d.cli(['status', '../../etc'])],
    ['status ESC', await d.cli(['status', '\u001b[2J'])],
    ['status C1', await d.cli(['status', '\u009b2J'])],
    ['status bidi', await d.cli(['status', '\u202e7'])],
    ['unknown flag ESC', await d.cli(['ps', '\u001b[2J', '--\u001b]0;x\u0007'])],
    ['logs ESC', await d.cli(['logs', '\u001b]0;x\u0007'])],
    ['identity ESC', await d.cli(['--identity', join(base, '\u001b[2Jnone'), 'ps'])],
    ['home ESC', await d.cli(['--home', join(base, '\u001b[2Jnohome'), 'ps'])],
  ];
  // Human output: no control character at all. --json: JSON's own escaping, so no C0 control (ESC
  // included) appears raw; C1 and bidi characters are valid JSON text and stay as they are there.
  const C0 = C0_CONTROL;
  const leaks = outputs.flatMap(([what, r]) => [
    ...((what.includes('--json') ? C0 : TERMINAL_CONTROL).test(r.stdout) ? [`${what}: stdout ${JSON.stringify(r.stdout.slice(0, 300))}`] : []),
    ...(TERMINAL_CONTROL.test(r.stderr) ? [`${what}: stderr ${JSON.stringify(r.stderr.slice(0, 300))}`] : []),
    ...(r.stdoutBytes.includes(0x1b) ? [`${what}: raw ESC byte`] : []),
  ]);
  assert.deepEqual(leaks, [], 'no control character reaches the terminal');
  // ... while the text is still all there, visibly escaped, and exact in --json.
  const ps = outputs[0]![1].stdout;
  assert.match(ps, /\.\.\/\.\.\/etc/);
  assert.match(ps, /\\u202egnp\.exe/, 'a bidi override in argv is shown escaped');
  const second = jsonOf<JobInfo>(await d.cli(['status', '--json', String(made[1]!.id)]));
  assert.equal(second.cwd, evilDir, '--json keeps the exact bytes (escaped by JSON)');
  assert.match(outputs.find(([w]) => w === `status ${made[1]!.id}`)![1].stdout, /cwd\s+.*\\u001b\]0;owned\\u0007/);
  // The traversal-looking ids are refused as usage errors, not looked up as paths.
  assertExit(outputs.find(([w]) => w === 'status ../../etc')![1], 2);
  // logs is raw by design: the job's own escape bytes come through unchanged.
  const logs = await d.cli(['logs', String(made[0]!.id)]);
  assert.ok(logs.stdoutBytes.includes(Buffer.from('\u001b[2J')), 'logs stays raw');
});

test(`CLI fuzz: ${INVOCATIONS} random command lines exit 0/1/2 without a stack trace`, { timeout: scale(180_000, 3_600_000) }, async (t) => {
  const seed = fuzzSeed();
  t.diagnostic(`seed ${seed} (JOBCTL_SEED=${seed} replays this run)`);
  const r = rng(seed);
  const d = await daemon(t);
  const c = await connect(t, d.endpoint, adminIdentity(d));
  // Jobs to point ids at: finished ones only (wait and logs -f return at once); exit 0 or 1.
  const ids: string[] = [];
  for (const argv of [['true'], ['false'], ['sh', '-c', 'echo out; echo err >&2'], ['nonexistent-command-xyz']]) {
    const job = await c.call('job.start', spec(argv));
    ids.push(String((await c.call('job.wait', { id: job.id })).id));
  }
  // Relative paths from the fuzz (--out ../../etc, --home x) land deep inside a temp dir.
  const cwd = join(tempDir(t), 'a', 'b', 'c', 'd', 'e', 'f', 'g');
  mkdirSync(cwd, { recursive: true });
  const cases = Array.from({ length: INVOCATIONS }, () => randomArgs(r, ids));
  const problems: string[] = [];
  const codes: Record<string, number> = {};
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < cases.length && problems.length < 10) {
        const args = cases[next++]!;
        const res = await d.cli(args, { cwd, timeoutMs: 60_000, env: { JOBCTL_NO_AUTOSTART: '1' } });
        codes[String(res.code)] = (codes[String(res.code)] ?? 0) + 1;
        for (const p of cliProblems(args, res)) problems.push(`jobctl ${JSON.stringify(args)}: ${p}`);
      }
    }),
  );
  t.diagnostic(`invocations=${next} exitCodes=${JSON.stringify(codes)} seconds=${((Date.now() - started) / 1000).toFixed(1)}`);
  assert.deepEqual(problems, [], `seed ${seed}`);
  assert.equal(d.process.exitCode, null, 'the daemon is alive');
});
