// Builds the guest's initramfs (an uncompressed newc cpio) from the extracted Debian kernel and
// busybox-static, without cpio, kmod or root-only mknod on the host:
//   node scripts/vm/mkinitramfs.mjs --root .vm-cache/root --out .vm-cache/initramfs.cpio
// The kernel package ships no modules.dep (depmod runs at install time, which we skip), so module
// dependencies are read from each .ko's own `.modinfo` section (`depends=`, written by modpost from
// the same symbol resolution depmod uses). Compressed modules (.ko.xz / .ko.zst) are decompressed
// here so the guest's busybox insmod never has to.
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const root = opt('--root');
const out = opt('--out');
if (!root || !out) {
  console.error('usage: mkinitramfs.mjs --root <extracted packages> --out <file.cpio> [--modules a,b]');
  process.exit(2);
}
// What the guest needs that Debian builds as modules: PCI virtio transport, the virtio disk, 9p over
// virtio for the host shares, ext4 for the test disk, and an entropy source so node's startup
// getrandom() never waits. crc32c_generic: ext4/jbd2 ask the crypto API for "crc32c" at mount time
// (a softdep, not a `depends=`), and the guest has no modprobe to load it on demand.
const wanted = opt('--modules', 'virtio_pci,virtio_blk,virtio_rng,9p,9pnet_virtio,ext4,crc32c_generic').split(',');

const modRoot = join(root, 'lib/modules');
const versions = existsSync(modRoot) ? readdirSync(modRoot) : [];
if (versions.length !== 1) throw new Error(`expected exactly one kernel under ${modRoot}, found: ${versions.join(' ') || 'none'}`);
const kver = versions[0];
const kdir = join(modRoot, kver);
const norm = (n) => n.replace(/-/g, '_');

/** Module name -> file, for every module file of the kernel. */
const files = new Map();
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else {
      const m = /^(.*)\.ko(\.xz|\.zst|\.gz)?$/.exec(name);
      if (m) files.set(norm(m[1]), p);
    }
  }
})(join(kdir, 'kernel'));
const builtin = new Set(
  readFileSync(join(kdir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean)
    .map((l) => norm(l.replace(/^.*\//, '').replace(/\.ko$/, ''))),
);

function moduleBytes(path) {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : 'gzip';
  return execFileSync(tool, ['-dc', path], { maxBuffer: 256 << 20 });
}

/** The NUL-separated key=value strings of an ELF64 module's .modinfo section. */
function modinfo(buf) {
  if (buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) throw new Error('not an ELF64 file');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const sh = (i) => {
    const o = shoff + i * shentsize;
    return { name: buf.readUInt32LE(o), off: Number(buf.readBigUInt64LE(o + 0x18)), size: Number(buf.readBigUInt64LE(o + 0x20)) };
  };
  const strtab = sh(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    const nameStart = strtab.off + s.name;
    const name = buf.toString('latin1', nameStart, buf.indexOf(0, nameStart));
    if (name === '.modinfo') return buf.toString('latin1', s.off, s.off + s.size).split('\0').filter(Boolean);
  }
  return [];
}

// Depth-first resolution gives dependencies before their users: the order insmod needs.
const order = [];
const bytes = new Map();
const visiting = new Set();
function add(name, chain) {
  name = norm(name);
  if (bytes.has(name) || builtin.has(name)) return;
  if (visiting.has(name)) throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
  const path = files.get(name);
  if (!path) throw new Error(`module ${name} (needed by ${chain.join(' -> ') || 'the guest'}) not found in ${kdir}`);
  visiting.add(name);
  const buf = moduleBytes(path);
  const deps = (modinfo(buf).find((s) => s.startsWith('depends=')) ?? 'depends=').slice(8).split(',').filter(Boolean);
  for (const d of deps) add(d, [...chain, name]);
  visiting.delete(name);
  bytes.set(name, buf);
  order.push(name);
}
for (const w of wanted) add(w, []);

// ---- newc cpio writer -----------------------------------------------------------------------
const chunks = [];
let ino = 1;
const pad4 = (n) => (4 - (n % 4)) % 4;
function entry(name, mode, data = Buffer.alloc(0), rdev = [0, 0]) {
  const nameBuf = Buffer.from(name + '\0');
  const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
  const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii');
  chunks.push(header, nameBuf, Buffer.alloc(pad4(header.length + nameBuf.length)), data, Buffer.alloc(pad4(data.length)));
}
const S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000, S_IFCHR = 0o020000;
const dir = (n) => entry(n, S_IFDIR | 0o755);
const file = (n, data, perm = 0o644) => entry(n, S_IFREG | perm, data);
const link = (n, target) => entry(n, S_IFLNK | 0o777, Buffer.from(target));

for (const d of ['bb', 'dev', 'proc', 'sys', 'usr', 'etc', 'tmp', 'run', 'root', 'mnt', 'mnt/disk', 'var', 'modules', 'jobctl']) dir(d);
// The kernel opens /dev/console for PID 1 before devtmpfs exists: without this node init has no
// stdout and every message is lost.
entry('dev/console', S_IFCHR | 0o600, Buffer.alloc(0), [5, 1]);
entry('dev/null', S_IFCHR | 0o666, Buffer.alloc(0), [1, 3]);
// Debian has a merged /usr: once the host's /usr is mounted these make /bin/sh, ld.so and node work.
for (const l of ['bin', 'sbin', 'lib', 'lib64']) link(l, `usr/${l}`);

const busybox = join(root, 'bin/busybox');
file('bb/busybox', readFileSync(busybox), 0o755);
// Applet links made now (not `busybox --install` at boot) so /init can use plain command names.
const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
for (const a of applets) link(`bb/${a}`, 'busybox');

order.forEach((name, i) => file(`modules/${String(i).padStart(2, '0')}-${name}.ko`, bytes.get(name)));
file('modules/order', Buffer.from(order.map((n, i) => `${String(i).padStart(2, '0')}-${n}.ko\n`).join('')));
file('init', readFileSync(new URL('./initramfs-init.sh', import.meta.url)), 0o755);
entry('TRAILER!!!', 0);

const image = Buffer.concat(chunks);
writeFileSync(out, image);
console.log(`initramfs: kernel ${kver}, ${order.length} modules (${order.join(' ')}), ${applets.length} busybox applets, ` +
  `${(image.length / 1048576).toFixed(1)} MiB -> ${relative(process.cwd(), out) || out}`);
writeFileSync(join(dirname(out), 'kernel-version'), kver + '\n');
