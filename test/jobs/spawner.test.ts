// jobctl-spawner as the daemon uses it: the real program, real processes, real pipes. No cgroups
// here (supervisor.kernel.test.ts covers placement); these are the process-level promises.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Spawner } from '../../src/jobs/spawner/spawner.ts';
import { spawnerFile } from '../../src/jobs/spawner/spawner-file.ts';
import { isAlive, pollUntil } from '../support/poll.ts';
import { spawnerChildren } from './harness.ts';

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.once('close', () => resolve(Buffer.concat(parts).toString()));
  });
}

async function run(spawner: Spawner, argv: string[], extra: { cwd?: string; env?: Record<string, string>; procsFiles?: string[] } = {}) {
  const p = spawner.spawn({ argv, cwd: extra.cwd ?? '/', env: extra.env ?? { PATH: '/usr/bin:/bin' }, procsFiles: extra.procsFiles ?? [] });
  const pipes = await p.pipes;
  const [stdout = '', stderr = ''] = pipes ? await Promise.all(pipes.map(collect)) : [];
  return { started: await p.started, exit: await p.exit, stdout, stderr };
}


describe('jobctl-spawner', () => {
  test('runs argv with exactly the environment and cwd given, stdout and stderr apart, and reports the exit code', async () => {
    const spawner = new Spawner(spawnerFile());
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-spawner-'));
    try {
      const env = { PATH: '/usr/bin:/bin', 'a.b': 'dotted', '1x': 'digit', EMPTY: '' };
      // env(1) found through the job's PATH prints exactly what it got (a shell would filter it).
      const vars = await run(spawner, ['env'], { cwd: dir, env });
      assert.equal(vars.started.error, null);
      assert.ok(vars.started.pid > 0);
      assert.deepEqual(vars.stdout.trim().split('\n').sort(), ['1x=digit', 'EMPTY=', 'PATH=/usr/bin:/bin', 'a.b=dotted'].sort());
      const r = await run(spawner, ['sh', '-c', 'pwd; echo oops >&2; exit 4'], { cwd: dir, env });
      assert.deepEqual(r.exit, { code: 4, signal: null, lost: null });
      assert.equal(r.stdout, `${dir}\n`);
      assert.equal(r.stderr, 'oops\n');
    } finally {
      await spawner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the command inherits only stdin, stdout and stderr, runs in its own session, and reads /dev/null', async () => {
    const spawner = new Spawner(spawnerFile());
    try {
      // ls lists its own descriptors: 0, 1, 2 and the one it opened to read the directory (3).
      const fds = await run(spawner, ['ls', '/proc/self/fd']);
      assert.deepEqual(fds.stdout.trim().split('\n').map(Number).sort((a, b) => a - b), [0, 1, 2, 3]);
      const r = await run(spawner, ['sh', '-c', 'ps -o sid= -o pid= -p $$; cat']);
      const [sid, pid] = r.stdout.trim().split(/\s+/);
      assert.equal(sid, pid, 'not a session leader');
      assert.equal(r.exit.code, 0);
    } finally {
      await spawner.close();
    }
  });

  test('a command that cannot be exec\'d, or a cwd that is gone, is a failed start with the OS reason', async () => {
    const spawner = new Spawner(spawnerFile());
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-spawner-'));
    try {
      const missing = await run(spawner, ['no-such-command-jobctl']);
      assert.equal(missing.started.error, '"no-such-command-jobctl": ENOENT: no such file or directory');
      assert.equal(missing.exit.code, 127);
      const noDir = await run(spawner, ['/bin/true'], { cwd: '/no/such/dir' });
      assert.equal(noDir.started.error, 'cwd "/no/such/dir": ENOENT: no such file or directory');
      const notExec = await run(spawner, [dir]);
      assert.equal(notExec.started.error, `${JSON.stringify(dir)}: EACCES: permission denied`);
    } finally {
      await spawner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a cgroup file that cannot be joined stops the start before the command runs', async () => {
    const spawner = new Spawner(spawnerFile());
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-spawner-'));
    try {
      const marker = join(dir, 'ran');
      const r = await run(spawner, ['/bin/touch', marker], { procsFiles: [join(dir, 'no-such-cgroup', 'cgroup.procs')] });
      assert.match(r.started.error ?? '', /^could not join cgroup .*no-such-cgroup\/cgroup\.procs: ENOENT/);
      assert.equal(r.exit.code, 125);
      assert.equal(existsSync(marker), false, 'the command ran although placement failed');
    } finally {
      await spawner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('many starts at once each get their own output and status', async () => {
    const spawner = new Spawner(spawnerFile());
    try {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => run(spawner, ['sh', '-c', `echo job${i}; exit ${i % 7}`])));
      results.forEach((r, i) => {
        assert.equal(r.stdout, `job${i}\n`);
        assert.equal(r.exit.code, i % 7);
      });
    } finally {
      await spawner.close();
    }
  });

  test('a sink that returns a promise pauses that pipe: the job blocks on its write until it settles, then every byte arrives', async () => {
    const spawner = new Spawner(spawnerFile());
    let release: (() => void) | undefined;
    try {
      const total = 8 * 1024 * 1024;
      let received = 0;
      const held = new Promise<void>((resolve) => (release = resolve));
      const p = spawner.spawn({ argv: ['head', '-c', String(total), '/dev/zero'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, procsFiles: [] }, (_stream, data) => {
        received += data.length;
        return held;
      });
      const { pid } = await p.started;
      // The kernel says where the job waits: in a write to its full pipe (not running, not exited).
      await pollUntil('the first read, then the job blocked on its full pipe', () => {
        try {
          return received > 0 && /pipe_write/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8'));
        } catch {
          return false;
        }
      });
      // A writer blocks for a moment on any pipe its reader is slower than: it must stay blocked, with
      // nothing more read, for as long as the sink holds (a fixed pause: what is checked is that
      // nothing happens in it; unpaused, the 8 MiB are read in a few ms).
      const whileHeld = received;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(received, whileHeld, 'nothing more was read while the sink held');
      assert.ok(isAlive(pid) && /pipe_write/.test(readFileSync(`/proc/${pid}/wchan`, 'utf8')), 'the job still waits on its pipe');
      assert.ok(whileHeld < 2 * 1024 * 1024, `read ${whileHeld} bytes before the pause took hold`);
      release?.();
      assert.deepEqual(await p.exit, { code: 0, signal: null, lost: null });
      await pollUntil('every byte to arrive', () => received === total);
    } finally {
      release?.();
      await spawner.close();
    }
  });

  test('when the spawner dies, a running job is reported lost and new starts are refused with the reason', async () => {
    let death = '';
    const spawner = new Spawner(spawnerFile(), (reason) => (death = reason));
    try {
      const p = spawner.spawn({ argv: ['sleep', '30'], cwd: '/', env: { PATH: '/usr/bin:/bin' }, procsFiles: [] });
      const { pid } = await p.started;
      const [spawnerPid] = spawnerChildren();
      assert.ok(spawnerPid, 'no jobctl-spawner child found');
      process.kill(spawnerPid, 'SIGKILL');
      const exit = await p.exit;
      assert.match(exit.lost ?? '', /jobctl-spawner \(pid \d+, .*\) was killed by SIGKILL while the job ran; its exit status is unknown/);
      assert.match(death, /was killed by SIGKILL/);
      assert.equal(spawner.alive, false);
      const refused = await spawner.spawn({ argv: ['/bin/true'], cwd: '/', env: {}, procsFiles: [] }).started;
      assert.match(refused.error ?? '', /was killed by SIGKILL/);
      // The orphan is the supervisor's to kill (through its cgroup or process group); here, by pid.
      process.kill(pid, 'SIGKILL');
      await pollUntil('the orphaned sleep is gone', () => !isAlive(pid));
    } finally {
      await spawner.close();
    }
  });

  // Without the fix the blocked child also holds the spawner's stdout, so the death is never even seen:
  // the timeout turns that hang into a failure.
  test('a child still setting up when the spawner dies dies with it (it would escape its cgroup otherwise)', { timeout: 20_000 }, async () => {
    const spawner = new Spawner(spawnerFile());
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-spawner-'));
    try {
      // A FIFO as the "cgroup.procs" file: the child's open for writing blocks, mid-setup, forever.
      const fifo = join(dir, 'cgroup.procs');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const marker = join(dir, 'ran');
      const p = spawner.spawn({ argv: ['/bin/touch', marker], cwd: '/', env: {}, procsFiles: [fifo] });
      await p.pipes; // SPAWNED: the child exists
      const [spawnerPid] = spawnerChildren();
      assert.ok(spawnerPid);
      process.kill(spawnerPid, 'SIGKILL');
      const { pid } = await p.started;
      assert.ok(pid > 0, 'the child was never reported');
      await pollUntil('the half-started child is gone', () => !isAlive(pid));
      assert.equal(existsSync(marker), false);
    } finally {
      await spawner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the spawner leaves when the daemon closes it, and dies with the daemon', async () => {
    const spawner = new Spawner(spawnerFile());
    await run(spawner, ['/bin/true']);
    const [pid] = spawnerChildren();
    assert.ok(pid);
    await spawner.close();
    assert.equal(spawnerChildren().includes(pid), false);
    // PR_SET_PDEATHSIG: see the C source; a daemon killed with SIGKILL is covered by
    // test/jobs/restart.kernel.test.ts (its jobs end lost, nothing survives).
  });
});
