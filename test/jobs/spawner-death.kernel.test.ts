// When jobctl-spawner dies under a running daemon: the jobs it started can no longer report their
// exit status. They must end `lost` with the reason, leave no process behind (their cgroup is
// killed), and the next job must start through a new spawner.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAlive, pollUntil, SLOWDOWN } from '../support/poll.ts';
import { makeHarness, spawnerChildren } from './harness.ts';

describe('supervisor: the spawner dies', { skip: process.getuid?.() !== 0 && 'needs root (cgroups)' }, () => {
  test('a running job ends lost with the reason, nothing of it survives, and the next job starts', async () => {
    const warnings: string[] = [];
    const h = makeHarness({ supervisor: { onWarning: (m) => warnings.push(m) } });
    try {
      assert.ok(h.cgroups, 'cgroups must be usable here');
      // A child in a new session that ignores SIGTERM: only the cgroup reaches it.
      const job = await h.supervisor.start(h.spec(['/bin/sh', '-c', 'setsid sh -c "trap \\"\\" TERM; sleep 60" & echo $! > child; sleep 60']), 'alice');
      const childPid = await pollUntil('the job wrote its child pid', () => {
        try {
          return Number(readFileSync(`${h.dir}/child`, 'utf8')) || null;
        } catch {
          return null;
        }
      }, 5000 * SLOWDOWN);
      const [spawnerPid] = spawnerChildren();
      assert.ok(spawnerPid, 'no jobctl-spawner child');
      process.kill(spawnerPid, 'SIGKILL');
      const done = await h.supervisor.wait(job.id);
      assert.equal(done.state, 'lost');
      assert.match(done.reason ?? '', /jobctl-spawner .* was killed by SIGKILL while the job ran; its exit status is unknown/);
      assert.equal(isAlive(job.pid ?? 0), false, 'the main process survived');
      assert.equal(isAlive(childPid), false, 'the setsid child survived');
      assert.ok(warnings.some((w) => /new jobs get a new spawner/.test(w)), warnings.join('\n'));
      const next = await h.supervisor.start(h.spec(['/bin/echo', 'again']), 'alice');
      assert.equal((await h.supervisor.wait(next.id)).exitCode, 0);
      assert.notEqual(spawnerChildren()[0], spawnerPid);
    } finally {
      await h.close();
    }
  });
});
