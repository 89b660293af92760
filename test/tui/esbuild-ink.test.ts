// The build plugin that puts Ink into one CommonJS bundle: it works on the installed ink and
// yoga-layout, and refuses loudly when their files no longer look as its patches expect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { inkCjsPlugin } from '../../scripts/esbuild-ink.mjs';
import { REPO } from '../support/daemon.ts';

const APP = `
import { Box, Text, render } from 'ink';
const { unmount } = render(<Box borderStyle="round" width={24}><Text>hello from yoga</Text></Box>, { patchConsole: false });
unmount();
`;

function bundle(root: string, outfile: string) {
  return build({
    stdin: { contents: APP, resolveDir: root, loader: 'tsx', sourcefile: 'app.tsx' },
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [inkCjsPlugin(root)],
    logLevel: 'silent',
  });
}

test('an Ink app bundles into one CommonJS file that lays out with yoga', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-ink-cjs-'));
  try {
    const out = join(dir, 'app.cjs');
    await bundle(REPO, out);
    const code = readFileSync(out, 'utf8');
    assert.doesNotMatch(code, /import\.meta|await import\(/);
    assert.equal(code.split('AGFzbQEAAAAB').length - 1, 1, 'the wasm is embedded once');
    const output = execFileSync(process.execPath, [out], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
    assert.match(output, /╭─+╮\n│hello from yoga +│\n╰─+╯/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A project root whose ink and yoga-layout are copies of the installed ones, with one file changed. */
function alteredRoot(file: string, change: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), 'jobctl-ink-root-'));
  writeFileSync(join(root, 'package.json'), '{"name":"x","private":true}');
  for (const pkg of ['ink', 'yoga-layout']) {
    mkdirSync(join(root, 'node_modules', pkg), { recursive: true });
    cpSync(join(REPO, 'node_modules', pkg), join(root, 'node_modules', pkg), { recursive: true });
  }
  const path = join(root, 'node_modules', file);
  writeFileSync(path, change(readFileSync(path, 'utf8')));
  return root;
}

for (const [file, change, expected] of [
  ['ink/build/reconciler.js', (t: string) => t.replace("await import('./devtools.js');", "await import('./devtools-v2.js');"), /reconciler\.js does not look as scripts\/esbuild-ink\.mjs expects/],
  ['yoga-layout/dist/src/index.js', (t: string) => t.replace('wrapAssembly(await loadYoga())', 'wrapAssembly(await loadYoga({}))'), /index\.js does not look as scripts\/esbuild-ink\.mjs expects/],
  ['yoga-layout/dist/binaries/yoga-wasm-base64-esm.js', (t: string) => t.replace('h.instantiateWasm', 'h.instantiateWasmAsync'), /no emscripten instantiateWasm hook/],
] as const) {
  test(`the build fails loudly when ${file} changed`, async () => {
    const root = alteredRoot(file, change);
    try {
      await assert.rejects(bundle(root, join(root, 'out.cjs')), (err: Error) => {
        assert.match(err.message, expected);
        return true;
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
