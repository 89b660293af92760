// The systemd unit `jobctl service install` writes: its directives, systemd's own verdict on it
// (`systemd-analyze verify`, which works offline on a file even though PID 1 here is not systemd), and
// the command's behaviour as a user sees it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { renderUnit, SYSTEM_HOME, unitPath, type UnitOptions } from '../../src/cli/commands/service.ts';
import { JOBCTL, runJobctl } from '../support/daemon.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const base: UnitOptions = { scope: 'system', command: [process.execPath, JOBCTL], home: SYSTEM_HOME, stopGraceMs: 10_000 };

/** Lines of `systemd-analyze verify` output this environment causes, not the unit (shown, not failed on). */
const ENVIRONMENTAL = [
  // Units the file depends on that a container without systemd as PID 1 may lack.
  /Unit (network|multi-user|default)\.target not found/,
  /Cannot add dependency job for unit .*\.target/,
];

/** Runs systemd-analyze verify on unit (written as jobctl.service in dir); returns the problems it reports. */
function verify(t: TestContext, dir: string, unit: string, scope: 'system' | 'user'): string[] {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
  assert.equal(which.status, 0, 'systemd-analyze is missing: install the systemd package (apt-get install systemd; .ci/run does)');
  const file = join(dir, 'jobctl.service');
  writeFileSync(file, unit);
  // A user manager needs a runtime directory even to verify a file; give it a private one.
  const runtime = join(dir, 'runtime');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const args = [...(scope === 'user' ? ['--user'] : []), 'verify', file];
  const result = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' } });
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const environmental = lines.filter((l) => ENVIRONMENTAL.some((re) => re.test(l)));
  if (environmental.length > 0) t.diagnostic(`systemd-analyze, caused by this environment: ${environmental.join(' | ')}`);
  const problems = lines.filter((l) => !environmental.includes(l));
  if (result.status !== 0 && problems.length === 0) problems.push(`systemd-analyze exited with ${result.status}`);
  return problems;
}

test('the system unit: notify readiness, delegation, mixed kill, restart, state directory', () => {
  const unit = renderUnit(base);
  const directives = unit.split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('['));
  for (const d of ['Type=notify', 'NotifyAccess=all', 'Delegate=yes', 'KillMode=mixed', 'Restart=on-failure', 'StateDirectory=jobctl', 'StateDirectoryMode=0700', 'CacheDirectory=jobctl', `Environment=JOBCTL_HOME=${SYSTEM_HOME}`, 'WantedBy=multi-user.target', 'After=network.target']) {
    assert.ok(directives.includes(d), `${d} missing from:\n${unit}`);
  }
  assert.ok(directives.includes(`ExecStart=${process.execPath} ${JOBCTL} daemon`));
  // The stop timeout leaves the daemon time for the jobs' grace before systemd kills everything.
  assert.ok(directives.includes('TimeoutStopSec=40s'));
  assert.ok(renderUnit({ ...base, stopGraceMs: 300_000 }).includes('TimeoutStopSec=330s'));
});

test('the user unit: JOBCTL_HOME instead of StateDirectory, default.target, no system-only dependencies', () => {
  const unit = renderUnit({ ...base, scope: 'user', home: '/home/alice/.local/state/jobctl' });
  assert.match(unit, /^Environment=JOBCTL_HOME=\/home\/alice\/\.local\/state\/jobctl$/m);
  assert.doesNotMatch(unit, /StateDirectory|network\.target|multi-user/);
  assert.match(unit, /^WantedBy=default\.target$/m);
  assert.match(unit, /^Delegate=yes$/m);
});

test('ExecStart and Environment quote blanks, quotes, "%" specifiers and "$" variables', () => {
  const unit = renderUnit({ ...base, command: ['/opt/my tools/jobctl'], home: '/srv/100%/$HOME', listen: '0.0.0.0:7443', logLevel: 'debug' });
  assert.match(unit, /^ExecStart="\/opt\/my tools\/jobctl" daemon --listen 0\.0\.0\.0:7443 --log-level debug$/m);
  assert.match(unit, /^Environment=JOBCTL_HOME=\/srv\/100%%\/\$\$HOME$/m);
});

test('systemd-analyze verify accepts the system and the user unit', (t) => {
  const dir = tempDir(t);
  // The single-executable form: ExecStart is the binary itself (a copy of node stands in for it).
  const binary = join(dir, 'bin', 'jobctl');
  mkdirSync(join(dir, 'bin'));
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  const cases: Array<[string, UnitOptions]> = [
    ['system, node + script', base],
    ['system, single executable, custom listen', { ...base, command: [binary], listen: '0.0.0.0:7443', logLevel: 'warn' }],
    ['user, node + script', { ...base, scope: 'user', home: join(dir, 'home') }],
    ['user, single executable', { ...base, scope: 'user', command: [binary], home: join(dir, 'my home') }],
  ];
  for (const [name, options] of cases) {
    const sub = join(dir, name.replace(/[^a-z]+/g, '-'));
    mkdirSync(sub);
    assert.deepEqual(verify(t, sub, renderUnit(options), options.scope), [], `${name}:\n${renderUnit(options)}`);
  }
});

test('the verify check itself catches a broken unit (so an empty report means something)', (t) => {
  const dir = tempDir(t);
  const broken = renderUnit(base).replace('KillMode=mixed', 'KillMode=mixed\nDelegat=yes').replace(`ExecStart=${process.execPath}`, 'ExecStart=/nonexistent/node');
  const problems = verify(t, dir, broken, 'system');
  assert.ok(problems.some((p) => /Unknown key 'Delegat'/.test(p)), problems.join('\n'));
  assert.ok(problems.some((p) => /\/nonexistent\/node is not executable/.test(p)), problems.join('\n'));
});

test('`service install --user` writes the unit, says how to enable it, and keeps a changed unit unless --force', async (t) => {
  const dir = tempDir(t);
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), JOBCTL_HOME: join(dir, 'state') };
  const path = unitPath('user', env);
  assert.equal(path, join(dir, 'config', 'systemd', 'user', 'jobctl.service'));

  const first = await runJobctl(['service', 'install', '--user'], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`^wrote ${path}$`, 'm'));
  assert.match(first.stdout, /systemctl --user daemon-reload && systemctl --user enable --now jobctl/);
  assert.match(first.stdout, /loginctl enable-linger/);
  const unit = readFileSync(path, 'utf8');
  assert.match(unit, new RegExp(`^Environment=JOBCTL_HOME=${join(dir, 'state')}$`, 'm'));
  assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${JOBCTL} daemon$`, 'm'));
  assert.deepEqual(verify(t, join(dir, 'config', 'systemd', 'user'), unit, 'user'), []);

  const again = await runJobctl(['service', 'install', '--user'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^unchanged /);

  const changed = await runJobctl(['service', 'install', '--user', '--listen', '127.0.0.1:7443'], { env });
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /exists with other content; --force replaces it/);
  assert.equal(readFileSync(path, 'utf8'), unit);
  const forced = await runJobctl(['service', 'install', '--user', '--listen', '127.0.0.1:7443', '--force'], { env });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(readFileSync(path, 'utf8'), /daemon --listen 127\.0\.0\.1:7443$/m);
});

test('`service install --print` writes nothing; --user with --system is a usage error; a bad config.json is caught now', async (t) => {
  const dir = tempDir(t);
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), JOBCTL_HOME: join(dir, 'state') };
  const printed = await runJobctl(['service', 'install', '--system', '--print'], { env });
  assert.equal(printed.code, 0, printed.stderr);
  assert.equal(printed.stdout, renderUnit(base));

  const both = await runJobctl(['service', 'install', '--user', '--system'], { env });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /mutually exclusive/);

  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'state', 'config.json'), JSON.stringify({ stopGrace: '2h' }));
  const bad = await runJobctl(['service', 'install', '--user', '--print'], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /config\.stopGrace/);
});
