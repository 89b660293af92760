// `jobctl top` in a real terminal: tmux runs the real bin/jobctl against a real daemon at 100×30;
// the test reads the screen with capture-pane (polling with deadlines) and types with send-keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOBCTL, REPO, runJobctl, startTestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** A tmux server of our own (its own socket, no user config) with one 100×30 pane running sh. */
function startTmux() {
  const socket = `jobctl-test-${process.pid}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', 'top', '-x', '100', '-y', '30', 'env', 'PS1=shell$ ', 'sh');
  return {
    screen: () => tmux('capture-pane', '-p', '-t', 'top'),
    keys: (...keys: string[]) => void tmux('send-keys', '-t', 'top', ...keys),
    type: (text: string) => void tmux('send-keys', '-t', 'top', '-l', text),
    alternateScreen: () => tmux('display-message', '-p', '-t', 'top', '#{alternate_on}').trim() === '1',
    kill: () => spawnSync('tmux', ['-L', socket, 'kill-server']),
  };
}

test('jobctl top in a real terminal: a job appears, its output streams in, s stops it, the link comes back, q restores the terminal', { skip: !hasTmux && 'tmux is not installed', timeout: 300_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'jobctl-top-'));
  let daemon = await startTestDaemon({ home });
  const term = startTmux();
  // Generous: a loaded CI machine (load average > 10 seen) can take many seconds to start a node process.
  const see = (what: string, check: (screen: string) => boolean, timeoutMs = 60_000) =>
    pollUntil(what, () => check(term.screen()), timeoutMs, 50).catch((err: Error) => {
      throw new Error(`${err.message}\n--- screen ---\n${term.screen()}`);
    });
  try {
    // CI=true as CI machines set it: Ink would then draw only its final frame unless top hides it.
    term.type(`echo before-top; CI=true JOBCTL_NO_AUTOSTART=1 ${process.execPath} ${JOBCTL} --home ${home} top; echo "top exited $?"`);
    term.keys('Enter');
    await see('the UI, live', (s) => s.includes('● live') && s.includes('NAME/COMMAND'));
    assert.ok(term.alternateScreen(), 'top draws on the alternate screen');

    const started = await daemon.cli(['run', '--name', 'ticker', '--', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; echo "oops $i" >&2; sleep 0.2; done'], { cwd: REPO });
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    await see('the job in the table, selected', (s) => new RegExp(`› +${id} ticker +\\S+ +running`).test(s));

    // Output arrives in the tail while we watch: a later line than the first one seen.
    const first = await see('output in the tail', (s) => /tick (\d+)/.test(s)).then(() => Number(/tick (\d+)/.exec(term.screen())?.[1]));
    await see('newer output', (s) => [...s.matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > first + 2));
    assert.match(term.screen(), /▌ oops \d+/, 'stderr is marked');

    // Full screen and back.
    term.keys('Enter');
    await see('the full-screen log', (s) => s.includes(`job ${id} · ticker · running`) && s.includes('following'));
    term.keys('PageUp');
    await see('scrolled back', (s) => s.includes('scrolled back') || s.includes('top of output'));
    term.keys('End');
    await see('following again', (s) => /· following/.test(s));
    term.keys('Escape');
    await see('the list again', (s) => s.includes('NAME/COMMAND'));

    // Stop it: s, confirm with y.
    term.keys('s');
    await see('the confirmation', (s) => s.includes(`Stop job ${id} (ticker)?`));
    term.keys('y');
    await see('the job stopped', (s) => new RegExp(`› +${id} ticker +\\S+ +stopped .*SIGTERM`).test(s));
    const status = JSON.parse((await daemon.cli(['status', id, '--json'])).stdout) as { state: string };
    assert.equal(status.state, 'stopped');

    // The daemon goes away: the loss is shown; a new daemon on the same home is found again.
    await daemon.stop();
    await see('the lost connection', (s) => s.includes('connection lost'));
    daemon = await startTestDaemon({ home });
    await see('live again, the list re-read', (s) => s.includes('● live') && new RegExp(`${id} ticker .*stopped`).test(s), 30_000);

    term.keys('q');
    await see('the shell back', (s) => s.includes('top exited 0'));
    const screen = term.screen();
    assert.ok(!term.alternateScreen(), 'the alternate screen is left');
    assert.match(screen, /before-top/, 'the screen from before top is back');
    assert.doesNotMatch(screen, /NAME\/COMMAND|● live|jobctl top ·/, 'no TUI frame is left behind');
  } finally {
    term.kill();
    await daemon.stop();
    rmSync(home, { recursive: true, force: true });
  }
});

test('jobctl top without a terminal explains and exits 2', async () => {
  const result = await runJobctl(['top'], { env: { JOBCTL_NO_AUTOSTART: '1' } });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /needs a terminal/);
  assert.equal(result.stdout, '');
});
