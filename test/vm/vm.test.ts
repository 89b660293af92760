// Runs the compiled kernel tests (*.kernel.test.js) inside QEMU guests with a pure cgroup v2 layout
// and a hybrid v1+v2 layout with the freezer (scripts/vm/run.mjs), and fails if any of them fails
// there. This host's own layout is covered by running the same files directly. Mode "v2-service" is
// the pure v2 guest with each test file alone in a non-root cgroup, as a systemd service with
// Delegate=yes (scripts/vm/as-service.sh): the only setup where jobctl must delegate to itself.
// Env: JOBCTL_VM_TESTS="build/test/a.kernel.test.js ..." (default: every build/test/**/*.kernel.test.js
// and build/test/**/kernel.test.js),
// JOBCTL_VM_MODES="v2 hybrid v2-service", JOBCTL_VM_TIMEOUT_S (per guest, default 1200), JOBCTL_SKIP_VM=1 to skip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root: found by walking up, so this works from test/vm and from build/test/vm alike. */
function findRepo(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'scripts/vm/run.mjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repo root (scripts/vm/run.mjs) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

const repo = findRepo();
const modes = (process.env.JOBCTL_VM_MODES ?? 'v2 hybrid v2-service').split(/\s+/).filter(Boolean);
const timeoutS = Number(process.env.JOBCTL_VM_TIMEOUT_S ?? 1200);
const prepared = existsSync(join(repo, '.vm-cache/ready'));
const prepareHint = 'run `bash scripts/vm/prepare.sh` (about 10 s and 600 MB in .vm-cache/), or set JOBCTL_SKIP_VM=1 to skip the VM tests';

function skipReason(): string | false {
  if (process.env.JOBCTL_VM) return 'already inside a test VM';
  if (process.env.JOBCTL_SKIP_VM === '1') return `JOBCTL_SKIP_VM=1${prepared ? '' : ' (and .vm-cache is not prepared)'}`;
  return false;
}

function kernelTestFiles(dir: string): string[] {
  let out: string[] = [];
  let names: string[];
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(kernelTestFiles(path));
    // test/cgroup/kernel.test.ts is a kernel test too, though its name has no dot before "kernel".
    else if (name === 'kernel.test.js' || name.endsWith('.kernel.test.js')) out.push(relative(repo, path));
  }
  return out;
}

function guestFiles(): string[] {
  const listed = process.env.JOBCTL_VM_TESTS?.split(/\s+/).filter(Boolean);
  return listed && listed.length > 0 ? listed : kernelTestFiles(join(repo, 'build/test'));
}

interface GuestRun { code: number | null; lines: string[] }

/** The guest layout (run.mjs --mode) of a mode: "v2-service" runs in the v2 guest. */
function guestMode(mode: string): string {
  return mode === 'v2-service' ? 'v2' : mode;
}

/** Runs the files in a guest; its console goes live to stderr (prefixed "[vm <guest mode>]") and is kept. */
function runInGuest(mode: string, files: string[]): Promise<GuestRun> {
  const command = mode === 'v2-service'
    ? ['sh', join(repo, 'scripts/vm/as-service.sh'), ...files]
    : ['node', '--enable-source-maps', '--test', '--test-reporter=tap', '--test-concurrency=1', ...files];
  const args = [join(repo, 'scripts/vm/run.mjs'), '--mode', guestMode(mode), '--timeout-s', String(timeoutS), '--', ...command];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) lines.push(partial);
      resolve({ code, lines });
    });
  });
}

/** The guest runner's closing TAP counts, and the "not ok" lines to name in a failure. */
function parseTap(mode: string, lines: string[]): { pass?: number; fail?: number; notOk: string[] } {
  const prefix = `[vm ${guestMode(mode)}] `;
  const tap = lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
  const count = (key: string): number | undefined => {
    const hit = tap.findLast((l) => new RegExp(`^# ${key} \\d+$`).test(l));
    return hit === undefined ? undefined : Number(hit.split(' ')[2]);
  };
  return { pass: count('pass'), fail: count('fail'), notOk: tap.filter((l) => /^\s*not ok \d+/.test(l)).map((l) => l.trim()) };
}

describe('kernel tests in QEMU guests (scripts/vm)', () => {
  for (const mode of modes) {
    // Skip per test, not per suite: node counts a skipped suite as no test at all.
    test(`${mode} guest: every kernel test passes`, { skip: skipReason(), timeout: (timeoutS + 60) * 1000 }, async () => {
      assert.ok(prepared, `the VM cache is not prepared: ${prepareHint}`);
      const files = guestFiles();
      assert.ok(files.length > 0, 'no guest test files: build them (node scripts/build.mjs --tests) or set JOBCTL_VM_TESTS');
      const missing = files.filter((f) => !existsSync(join(repo, f)));
      assert.deepEqual(missing, [], `guest test files not found (paths are relative to ${repo}; build first)`);

      const { code, lines } = await runInGuest(mode, files);
      const { pass, fail, notOk } = parseTap(mode, lines);
      const tail = lines.slice(-15).join('\n');
      assert.ok(pass !== undefined && fail !== undefined, `no "# pass N" / "# fail N" summary from the guest (run.mjs exit ${code}); last lines:\n${tail}`);
      assert.equal(fail, 0, `${fail} failing in the ${mode} guest:\n${notOk.join('\n')}`);
      assert.ok(pass > 0, `no test passed in the ${mode} guest (all skipped?); last lines:\n${tail}`);
      assert.equal(code, 0, `run.mjs exited ${code} although the guest summary shows no failure; last lines:\n${tail}`);
    });
  }
});
