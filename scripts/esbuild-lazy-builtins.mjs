// esbuild plugin: two Node built-ins that dependencies load at start-up but no CLI command uses are
// not loaded at start-up any more. Every `jobctl` command is a new process, and compiling a built-in
// module outside Node's start-up snapshot costs real time (measured on the CI machine, a fresh
// process each: `require('zlib')` 1.7 ms, `require('assert')` 1.5 ms — ≈ 3% of `jobctl ps`; see
// docs/BENCHMARKS.md, "CLI").
//   - zlib, for ws: only its permessage-deflate extension uses it, and jobctl turns that extension
//     off at both ends (rpc frames are small JSON; log frames are mostly already-compressed or
//     binary data, and compressing 100 followers' streams would cost the daemon the CPU it needs).
//     The module ws gets loads the real zlib on first use, so a build with deflate on still works.
//   - assert, for yargs: it checks two of its own invariants with strictEqual / notStrictEqual on
//     every parse. The replacement makes the same checks (Object.is, as node:assert) and throws
//     node:assert's own AssertionError when one fails — loading node:assert only then.
// Each is matched by importer, so our own code and other packages keep the real modules; the build
// fails if either importer stops asking for the module (a changed dependency must be looked at).
const PLUGIN = 'jobctl-lazy-builtins';

const LAZY = {
  zlib: {
    importer: /node_modules\/ws\/lib\/permessage-deflate\.js$/,
    source: `// zlib, loaded when ws first uses it (scripts/esbuild-lazy-builtins.mjs).
let real;
module.exports = new Proxy({}, {
  get(_, key) { return (real ??= require('node:zlib'))[key]; },
  has(_, key) { return key in (real ??= require('node:zlib')); },
});`,
  },
  assert: {
    importer: /node_modules\/yargs\/build\/index\.cjs$/,
    source: `// The two assertions yargs makes (scripts/esbuild-lazy-builtins.mjs).
function fail(actual, expected, message, operator, stackStartFn) {
  const { AssertionError } = require('node:assert');
  throw new AssertionError({ actual, expected, message, operator, stackStartFn });
}
module.exports = {
  strictEqual: function strictEqual(actual, expected, message) {
    if (!Object.is(actual, expected)) fail(actual, expected, message, 'strictEqual', strictEqual);
  },
  notStrictEqual: function notStrictEqual(actual, expected, message) {
    if (Object.is(actual, expected)) fail(actual, expected, message, 'notStrictEqual', notStrictEqual);
  },
};`,
  },
};

/** The plugin; the build fails when a replacement was not used (its importer changed). */
export function lazyBuiltinsPlugin() {
  const used = new Set();
  return {
    name: PLUGIN,
    setup(build) {
      build.onResolve({ filter: /^(node:)?(zlib|assert)$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        if (!LAZY[name].importer.test(args.importer)) return undefined;
        used.add(name);
        return { path: name, namespace: PLUGIN };
      });
      build.onLoad({ filter: /.*/, namespace: PLUGIN }, (args) => ({ contents: LAZY[args.path].source, loader: 'js', resolveDir: '.' }));
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        const missing = Object.keys(LAZY).filter((name) => !used.has(name));
        if (missing.length > 0) {
          return { errors: [{ text: `${PLUGIN}: no import of ${missing.join(', ')} from ${missing.map((n) => LAZY[n].importer).join(', ')} any more; update scripts/esbuild-lazy-builtins.mjs` }] };
        }
      });
    },
  };
}
