// Readiness for systemd through the real `systemd-notify`, received on a real $NOTIFY_SOCKET: a unix
// datagram socket served by a small Python receiver that speaks the manager's side of the protocol
// (credentials, and closing the fd a BARRIER=1 message carries, which is what lets systemd-notify return).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { notifyReady } from '../../src/daemon/readiness.ts';
import { createLogger } from '../../src/daemon/logger.ts';
import { pollUntil } from '../support/poll.ts';

const RECEIVER = `
import array, json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"bound": True}), flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(64) + socket.CMSG_SPACE(12))
    fds, pid = [], None
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i"); a.frombytes(data[: len(data) - len(data) % 4]); fds.extend(a)
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    for fd in fds:
        os.close(fd)
    print(json.dumps({"text": msg.decode(), "pid": pid, "fds": len(fds)}), flush=True)
`;

interface Received {
  text: string;
  pid: number | null;
  fds: number;
}

/** A fake service manager listening on a fresh NOTIFY_SOCKET. */
async function fakeManager(t: TestContext): Promise<{ socket: string; received: () => Received[] }> {
  for (const tool of ['python3', 'systemd-notify']) {
    assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing (systemd-notify: apt-get install systemd)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-notify-'));
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const socket = join(dir, 'notify.sock');
  const child = spawn('python3', [script, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  t.after(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await pollUntil('the receiver to bind', () => out.includes('"bound"'), 5000);
  const received = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{"text"'))
      .map((l) => JSON.parse(l) as Received);
  return { socket, received };
}

function capturingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', { journald: true, write: (l) => lines.push(l) }), lines };
}

test('READY=1 with the status and the main PID, then a barrier (never --no-block)', async (t) => {
  const manager = await fakeManager(t);
  const { logger, lines } = capturingLogger();
  await notifyReady('listening on wss://127.0.0.1:7443', logger, { env: { ...process.env, NOTIFY_SOCKET: manager.socket }, parentName: () => 'systemd' });
  const messages = manager.received();
  assert.equal(messages.length, 2, JSON.stringify(messages));
  const [ready, barrier] = messages as [Received, Received];
  assert.deepEqual(ready.text.split('\n').sort(), ['MAINPID=' + process.pid, 'READY=1', 'STATUS=listening on wss://127.0.0.1:7443'].sort());
  // As root the credentials can name the daemon itself; otherwise they are systemd-notify's own.
  if (process.getuid?.() === 0) assert.equal(ready.pid, process.pid);
  // The barrier is what keeps systemd-notify alive until the manager has read READY=1.
  assert.equal(barrier.text, 'BARRIER=1');
  assert.equal(barrier.fds, 1);
  assert.deepEqual(lines, ['<7>readiness reported to systemd\n']);
});

test('not started by systemd itself (an autostarted daemon inheriting NOTIFY_SOCKET): nothing is sent', async (t) => {
  const manager = await fakeManager(t);
  const { logger, lines } = capturingLogger();
  await notifyReady('x', logger, { env: { ...process.env, NOTIFY_SOCKET: manager.socket }, parentName: () => 'bash' });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(manager.received(), []);
  assert.match(lines.join(''), /not reporting readiness parent=bash/);
});

test('no NOTIFY_SOCKET: nothing to do; no systemd-notify: an error in the log, never a throw', async () => {
  const { logger, lines } = capturingLogger();
  await notifyReady('x', logger, { env: { PATH: process.env.PATH }, parentName: () => 'systemd' });
  assert.equal(lines.length, 0);
  await notifyReady('x', logger, { env: { NOTIFY_SOCKET: '/nonexistent/sock', PATH: '/nonexistent' }, parentName: () => 'systemd' });
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /^<3>cannot report readiness to systemd: systemd-notify not found/);
});

test('an unreachable NOTIFY_SOCKET: systemd-notify fails, the daemon logs why and carries on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-notify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { logger, lines } = capturingLogger();
  await notifyReady('x', logger, { env: { ...process.env, NOTIFY_SOCKET: join(dir, 'missing.sock') }, parentName: () => 'systemd' });
  assert.equal(lines.length, 1);
  assert.match(lines[0] as string, /^<3>cannot report readiness to systemd: systemd-notify exited with status 1/);
});
