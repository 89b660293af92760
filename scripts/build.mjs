// Builds the CLI bundle (dist/jobctl.cjs) and, with --tests, the test and bench files (build/).
// One CommonJS bundle is what Node's single-executable builder needs later; tests are compiled the
// same way so they run exactly the code the binary runs.
import { build } from 'esbuild';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const withTests = process.argv.includes('--tests');

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

const common = {
  platform: 'node',
  target: 'node20',
  bundle: true,
  sourcemap: 'linked',
  loader: { '.sql': 'text' },
  logLevel: 'warning',
  absWorkingDir: root,
};

await build({
  ...common,
  entryPoints: ['src/main.ts'],
  outfile: 'dist/jobctl.cjs',
  format: 'cjs',
  // The native SQLite addon cannot be bundled; it is loaded from node_modules (or, in the
  // single executable, from an embedded asset).
  external: ['better-sqlite3'],
  define: { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' },
});

if (withTests) {
  rmSync(join(root, 'build'), { recursive: true, force: true });
  const entries = [
    ...filesUnder(join(root, 'test'), (n) => n.endsWith('.test.ts') || n.endsWith('.test.tsx') || n.endsWith('.fixture.ts')),
    ...filesUnder(join(root, 'bench'), (n) => n.endsWith('.ts')),
  ];
  await build({
    ...common,
    entryPoints: entries,
    outdir: 'build',
    outbase: '.',
    format: 'esm',
    packages: 'external',
  });
}
