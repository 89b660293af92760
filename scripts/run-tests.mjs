// Runs every compiled test file (build/test/**/*.test.js) with node's test runner, one file at a time.
// The file list is passed explicitly: Node 20 does not expand globs itself, and handing it the
// directory would also run the *.fixture.js helper programs, which are not tests.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=…).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Test files under dir, sorted, so runs are repeatable. */
function testFiles(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(testFiles(path));
    else if (name.endsWith('.test.js')) out.push(relative(root, path));
  }
  return out;
}

const files = testFiles(join(root, 'build', 'test'));
if (files.length === 0) {
  console.error('no test files under build/test: run node scripts/build.mjs --tests first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...process.argv.slice(2), ...files], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
