#!/usr/bin/env node
// Runs one command inside a throwaway QEMU guest (software emulation: this host has no usable KVM)
// with a real cgroup layout, and exits with the command's exit code.
//   node scripts/vm/run.mjs --mode v2|hybrid [--timeout-s N] [--env K=V]... [--disk-mb N] [--repo-rw] [--verbose] -- <cmd...>
// The guest runs the host's own /usr and /etc (read-only 9p) and sees the repo at the same absolute
// path, so `node build/test/...` works unchanged. It gets a tmpfs /tmp (TMPDIR), an ext4 disk on
// a virtio block device at /mnt/disk (JOBCTL_VM_DISK) and JOBCTL_VM=<mode>. The console is
// streamed to stdout as "[vm <mode>] ..." lines. Needs `bash scripts/vm/prepare.sh` first.
// Exit codes besides the command's: 2 usage, 3 not prepared, 124 timeout, 125 guest/setup failure.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, mkdirSync, copyFileSync, rmSync, existsSync, openSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const cache = join(repo, '.vm-cache');

function usage(msg) {
  if (msg) console.error(`run.mjs: ${msg}`);
  console.error('usage: node scripts/vm/run.mjs --mode v2|hybrid [--timeout-s N] [--env K=V]... [--disk-mb N] [--repo-rw] [--verbose] -- <cmd...>');
  process.exit(2);
}

// ---- arguments ---------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) usage('missing `-- <cmd...>`');
const opts = argv.slice(0, sep);
const cmd = argv.slice(sep + 1);
let mode;
let timeoutS = 1200;
let repoRw = false;
let verbose = false;
let diskMb = 256;
const extraEnv = [];
for (let i = 0; i < opts.length; i++) {
  const a = opts[i];
  const val = () => (i + 1 < opts.length ? opts[++i] : usage(`${a} needs a value`));
  if (a === '--mode') mode = val();
  else if (a === '--timeout-s') timeoutS = Number(val());
  else if (a === '--env') extraEnv.push(val());
  else if (a === '--disk-mb') diskMb = Number(val());
  else if (a === '--repo-rw') repoRw = true;
  else if (a === '--verbose') verbose = true;
  else usage(`unknown option ${a}`);
}
if (mode !== 'v2' && mode !== 'hybrid') usage('--mode must be v2 or hybrid');
if (!(timeoutS > 0)) usage('--timeout-s must be a positive number');
if (!(Number.isInteger(diskMb) && diskMb >= 16)) usage('--disk-mb must be an integer >= 16');
for (const e of extraEnv) if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e)) usage(`--env wants K=V, got ${e}`);

const tag = `[vm ${mode}]`;
const say = (msg) => console.log(`${tag} ${msg}`);

const root = join(cache, 'root');
const qemu = join(root, 'usr/bin/qemu-system-x86_64');
const kernel = join(cache, 'vmlinuz');
const initrd = join(cache, 'initramfs.cpio');
if (![join(cache, 'ready'), qemu, kernel, initrd].every((p) => existsSync(p))) {
  console.error(`${tag} the VM cache is not prepared: run \`bash scripts/vm/prepare.sh\` first`);
  process.exit(3);
}

/** Single-quoted for sh, whatever the string holds. */
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

// ---- per-run files: control share (guest-init.sh, env, command) and the disk image -------------
// A run killed with SIGKILL cannot clean up: sweep work dirs whose owning run.mjs is gone.
for (const name of readdirSync(tmpdir())) {
  if (!name.startsWith('jobctl-vm-')) continue;
  const dir = join(tmpdir(), name);
  let pid;
  try {
    pid = Number(readFileSync(join(dir, 'owner-pid'), 'utf8'));
  } catch {
    // No pid file yet: another run may be setting up right now; only a stale one is removed.
    try { if (Date.now() - statSync(dir).mtimeMs > 3600_000) rmSync(dir, { recursive: true, force: true }); } catch {}
    continue;
  }
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code === 'ESRCH') rmSync(dir, { recursive: true, force: true });
  }
}
const work = mkdtempSync(join(tmpdir(), 'jobctl-vm-'));
writeFileSync(join(work, 'owner-pid'), String(process.pid));
const ctl = join(work, 'ctl');
const disk = join(work, 'disk.img');
// A nonce in the exit marker: a test that prints "@@JOBCTL_VM_EXIT 0@@" cannot fake a result.
const nonce = randomBytes(8).toString('hex');
// Run where the caller is when that is inside the repo (the guest sees nothing else of the host).
const cwd = process.cwd() === repo || process.cwd().startsWith(repo + '/') ? process.cwd() : repo;

let qemuProc;
let finished = false;
function cleanup() {
  rmSync(work, { recursive: true, force: true });
}
function exit(code) {
  finished = true;
  cleanup();
  process.exit(code);
}
for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    say(`${sig}: stopping the guest`);
    qemuProc?.kill('SIGKILL');
    exit(128 + num);
  });
}

try {
  mkdirSync(ctl);
  copyFileSync(join(here, 'guest-init.sh'), join(ctl, 'guest-init.sh'));
  writeFileSync(join(ctl, 'env.sh'), [
    `JOBCTL_VM_MODE=${q(mode)}`,
    `JOBCTL_VM_NONCE=${q(nonce)}`,
    `JOBCTL_VM_REPO=${q(repo)}`,
    `JOBCTL_VM_REPO_RW=${repoRw ? 1 : 0}`,
    `JOBCTL_VM_CWD=${q(cwd)}`,
    '',
  ].join('\n'));
  writeFileSync(join(ctl, 'cmd.sh'), [
    ...extraEnv.map((e) => `export ${e.slice(0, e.indexOf('='))}=${q(e.slice(e.indexOf('=') + 1))}`),
    `exec ${cmd.map(q).join(' ')}`,
    '',
  ].join('\n'));
  // Sparse, so its size costs nothing until written; formatted on the host because mkfs inside the
  // emulated guest takes far longer.
  const fd = openSync(disk, 'w');
  ftruncateSync(fd, diskMb * 1048576);
  closeSync(fd);
  const mkfs = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].find((p) => existsSync(p)) ?? 'mkfs.ext4';
  try {
    execFileSync(mkfs, ['-F', '-q', '-L', 'jobctl-vm', disk], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    throw new Error(`${mkfs} failed (${err.message}); it comes from Debian's e2fsprogs`);
  }
} catch (err) {
  console.error(`${tag} cannot set up the run: ${err.message}`);
  exit(125);
}

// ---- qemu ----------------------------------------------------------------------------------------
const append = [
  'console=ttyS0', 'panic=-1', 'oops=panic',
  // The emulated CPU's RDRAND is real randomness from the host: trusting it means the CRNG is ready
  // at once, so node's startup getrandom() never blocks.
  'random.trust_cpu=on',
  // Speculation mitigations cost a lot under emulation and guard nothing in a throwaway guest.
  'mitigations=off',
  'tsc=reliable', 'no_timer_check',
  verbose ? 'loglevel=7' : 'quiet loglevel=3',
  ...(mode === 'v2' ? ['cgroup_no_v1=all'] : []),
].join(' ');
// qemu option values escape a comma by doubling it.
const virtfs = (tag9p, path, ro) =>
  ['-fsdev', `local,id=${tag9p},path=${path.replace(/,/g, ',,')},security_model=none,multidevs=remap${ro ? ',readonly=on' : ''}`,
    '-device', `virtio-9p-pci,fsdev=${tag9p},mount_tag=${tag9p}`];
const qemuArgs = [
  '-machine', 'q35', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '2', '-m', '2048',
  // -nodefaults: no VGA, NIC or floppy to emulate and probe; the serial port is then named.
  '-nodefaults', '-nographic', '-no-reboot', '-serial', 'stdio', '-monitor', 'none', '-nic', 'none',
  // Firmware: seabios/ipxe from the cache (the qemu data dir holds absolute symlinks to them).
  '-L', join(root, 'usr/share/seabios'), '-L', join(root, 'usr/lib/ipxe/qemu'), '-L', join(root, 'usr/share/qemu'),
  // Keep SeaBIOS off the serial port: its banner has no trailing newline and only adds noise.
  '-fw_cfg', 'name=etc/sercon-port,string=0',
  '-kernel', kernel, '-initrd', initrd, '-append', append,
  ...virtfs('jobctl', ctl, false),
  ...virtfs('usr', '/usr', true),
  ...virtfs('etc', '/etc', true),
  ...virtfs('repo', repo, !repoRw),
  '-drive', `file=${disk.replace(/,/g, ',,')},format=raw,if=none,id=disk,cache=unsafe,aio=threads`,
  '-device', 'virtio-blk-pci,drive=disk',
  '-device', 'virtio-rng-pci',
];
const libdir = join(root, 'usr/lib/x86_64-linux-gnu');
const qemuEnv = {
  ...process.env,
  LD_LIBRARY_PATH: [libdir, join(root, 'lib/x86_64-linux-gnu'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  // Debian builds TCG as a loadable module; its compiled-in module dir is the system one.
  QEMU_MODULE_DIR: join(libdir, 'qemu'),
};

const t0 = Date.now();
const secs = (ms) => (ms / 1000).toFixed(1);
let tStart; // guest reached the command
let exitCode; // from the marker
let timedOut = false;
say(`booting (${cmd.join(' ')}; timeout ${timeoutS} s)`);
// setpriv (util-linux, always on Debian) makes the kernel SIGKILL qemu if this script dies without
// cleaning up (SIGKILL, a crashed test runner): an orphaned guest would otherwise run on, unbounded.
const [bin, binArgs] = existsSync('/usr/bin/setpriv')
  ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', qemu, ...qemuArgs]]
  : [qemu, qemuArgs];
qemuProc = spawn(bin, binArgs, { env: qemuEnv, stdio: ['ignore', 'pipe', 'pipe'] });
// Whoever reads our output went away (EPIPE): nobody will see the result, so stop the guest.
process.stdout.on('error', () => {
  qemuProc.kill('SIGKILL');
  exit(141);
});

const startRe = new RegExp(`^@@JOBCTL_VM_START ${nonce}@@$`);
const exitRe = new RegExp(`^@@JOBCTL_VM_EXIT ${nonce} (\\d+)@@$`);
createInterface({ input: qemuProc.stdout, crlfDelay: Infinity }).on('line', (raw) => {
  // The serial console ends lines with \r\n and may carry terminal escapes from the firmware.
  const line = raw.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '');
  if (startRe.test(line)) {
    tStart = Date.now();
    say(`boot took ${secs(tStart - t0)} s`);
    return;
  }
  const m = exitRe.exec(line);
  if (m) exitCode = Number(m[1]);
  console.log(`${tag} ${line}`);
});
createInterface({ input: qemuProc.stderr, crlfDelay: Infinity }).on('line', (line) => {
  // Expected: SeaBIOS's sercon-port is read under that exact name, not the "opt/" one qemu prefers.
  if (line.includes('externally provided fw_cfg item names')) return;
  console.error(`${tag} qemu: ${line}`);
});

const timer = setTimeout(() => {
  say(`TIMEOUT: no result after ${timeoutS} s; killing qemu (pid ${qemuProc.pid})`);
  qemuProc.kill('SIGKILL');
  exitCode = 124;
  timedOut = true;
}, timeoutS * 1000);

qemuProc.on('error', (err) => {
  clearTimeout(timer);
  console.error(`${tag} cannot start qemu: ${err.message}`);
  exit(125);
});
qemuProc.on('close', (code, signal) => {
  clearTimeout(timer);
  if (finished) return;
  if (exitCode === undefined) {
    // The marker can be lost if the console is cut short; the control share still has the file.
    try { exitCode = Number(readFileSync(join(ctl, 'exit-code'), 'utf8').trim()); } catch {}
  }
  const total = secs(Date.now() - t0);
  if (timedOut) {
    say(`FAILED: timed out after ${timeoutS} s`);
    exit(124);
  } else if (exitCode === undefined || Number.isNaN(exitCode)) {
    say(`FAILED: the guest ended without reporting an exit code (qemu ${signal ?? `exit ${code}`}; ` +
      `rerun with --verbose to see the kernel log); ${total} s`);
    exit(125);
  } else {
    const cmdTime = tStart ? `, command ${secs(Date.now() - tStart)} s` : '';
    say(`command exited with ${exitCode} (boot ${tStart ? secs(tStart - t0) : '?'} s${cmdTime}, total ${total} s)`);
    exit(exitCode);
  }
});
