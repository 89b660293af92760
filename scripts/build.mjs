// Builds the CLI bundle (dist/jobctl.cjs) and, with --tests, the test and bench files (build/).
// One CommonJS bundle is what Node's single-executable builder needs later; tests are compiled the
// same way so they run exactly the code the binary runs.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inkCjsPlugin } from './esbuild-ink.mjs';
import { lazyBuiltinsPlugin } from './esbuild-lazy-builtins.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const withTests = args.includes('--tests');
// `--only test/cgroup` (repeatable) builds just those test folders: lets one layer be tested while
// another is half-written.
const only = args.flatMap((a, i) => (args[i - 1] === '--only' ? [a] : []));
const skipMain = args.includes('--no-main');

/** Every file under dir (recursively) whose name passes keep. */
function filesUnder(dir, keep) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(filesUnder(path, keep));
    else if (keep(name)) out.push(path);
  }
  return out;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const common = {
  define: { __JOBCTL_VERSION__: JSON.stringify(pkg.version) },
  platform: 'node',
  target: 'node20',
  bundle: true,
  sourcemap: 'linked',
  loader: { '.sql': 'text' },
  // .tsx files (the terminal UI): tsconfig's "jsx": "react-jsx".
  jsx: 'automatic',
  // Ink is ESM with top-level awaits; the plugin makes it bundle as CommonJS (and checks its files).
  plugins: [inkCjsPlugin(root)],
  logLevel: 'warning',
  absWorkingDir: root,
};

/**
 * Compiles jobctl-spawner (src/jobs/spawner/jobctl-spawner.c), the helper that starts every job, next
 * to the bundle. Static where the C library allows it (it then runs in the QEMU guests and on any
 * Linux the single executable goes to), dynamic otherwise (Fedora and others ship no libc.a by default).
 */
function buildSpawner() {
  const source = join(root, 'src', 'jobs', 'spawner', 'jobctl-spawner.c');
  const output = join(root, 'dist', 'jobctl-spawner');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const temp = `${output}.${process.pid}.tmp`;
  const cc = process.env.CC || 'cc';
  const flags = ['-O2', '-std=c11', '-Wall', '-Wextra', '-s', '-o', temp, source];
  const failures = [];
  for (const link of [['-static'], []]) {
    const result = spawnSync(cc, [...link, ...flags], { encoding: 'utf8' });
    if (result.status === 0) {
      renameSync(temp, output);
      return;
    }
    failures.push(`${cc} ${[...link, ...flags].join(' ')}: ${result.error?.message ?? result.stderr.trim()}`);
  }
  rmSync(temp, { force: true });
  throw new Error(`cannot compile jobctl-spawner, which starts every job (a C compiler is needed: apt-get install gcc libc6-dev):\n${failures.join('\n')}`);
}

if (!skipMain) {
  buildSpawner();
  await build({
    ...common,
    entryPoints: ['src/main.ts'],
    outfile: 'dist/jobctl.cjs',
    format: 'cjs',
    // Every command reads and compiles the whole bundle: minified it is half the size (1.1 MB, not 2.2).
    // Names are kept for error messages and stack traces; the linked source map gives the lines back.
    minify: true,
    keepNames: true,
    // The native SQLite addon cannot be bundled; it is loaded from node_modules (or, in the
    // single executable, from an embedded asset).
    external: ['better-sqlite3'],
    // zlib (for ws) and assert (for yargs) stay unloaded unless used: see the plugin.
    plugins: [...common.plugins, lazyBuiltinsPlugin()],
    define: {
      ...common.define,
      'process.env.WS_NO_BUFFER_UTIL': '"1"',
      'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
      // React's production build (smaller, faster; no development warnings).
      'process.env.NODE_ENV': '"production"',
    },
  });
  // bin/jobctl runs the bundle as a vm.Script (for its code cache), which cannot serve a real import():
  // modules are loaded lazily with import() of our own files (esbuild inlines those) or require().
  const bundleText = readFileSync(join(root, 'dist', 'jobctl.cjs'), 'latin1');
  const dynamicImport = /\bimport\((?!\))/.exec(bundleText);
  if (dynamicImport) throw new Error(`dist/jobctl.cjs contains a real import() (${JSON.stringify(dynamicImport.input.slice(dynamicImport.index, dynamicImport.index + 60))}); import a built-in module statically or through require()`);
  // bin/jobctl reads the bundle as latin1 (faster than utf8): esbuild's default charset escapes
  // everything else, and this keeps it so.
  const nonAscii = /[^\x00-\x7f]/.exec(bundleText);
  if (nonAscii) throw new Error(`dist/jobctl.cjs holds a non-ASCII character at offset ${nonAscii.index}; bin/jobctl reads it as latin1`);
  // Code caches of the previous bundle (see bin/jobctl): never used again.
  rmSync(join(root, 'dist', 'code-cache'), { recursive: true, force: true });
}

if (withTests) {
  const isTestEntry = (n) => /\.(test|fixture)\.tsx?$/.test(n);
  let entries;
  if (only.length > 0) {
    entries = only.flatMap((dir) => filesUnder(join(root, dir), (n) => isTestEntry(n) || dir.startsWith('bench')));
  } else {
    rmSync(join(root, 'build'), { recursive: true, force: true });
    entries = [...filesUnder(join(root, 'test'), isTestEntry), ...filesUnder(join(root, 'bench'), (n) => n.endsWith('.ts'))];
  }
  await build({
    ...common,
    entryPoints: entries,
    outdir: 'build',
    outbase: '.',
    format: 'esm',
    packages: 'external',
  });
}
