// esbuild plugin that lets Ink (ESM) go into ONE CommonJS bundle, which Node's single-executable
// builder needs. Two things stop a plain `format: 'cjs'` build, both top-level awaits:
//   1. yoga-layout's entry (dist/src/index.js) awaits its emscripten loader. The loader takes an
//      `instantiateWasm(imports, receive)` hook; given one that instantiates the embedded wasm
//      synchronously, the whole module is ready when the loader returns, so no await is needed.
//   2. ink's build/reconciler.js awaits two development-only imports (React devtools, its own
//      package.json) behind isDev(). They are cut out; react-devtools-core is aliased to a stub.
// Every patch checks that the library file still looks as expected and fails the build loudly when
// it does not: a changed ink or yoga-layout must be looked at, not silently bundled broken.
// See docs and research/packaging.md ("One executable").
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PLUGIN = 'jobctl-ink-cjs';

// yoga-layout 3.2.x: the entry and the emscripten glue with the base64 wasm.
const YOGA_ENTRY_EXPECTED = [
  "import loadYoga from '../binaries/yoga-wasm-base64-esm.js';",
  'import wrapAssembly from "./wrapAssembly.js";',
  'const Yoga = wrapAssembly(await loadYoga());',
  'export default Yoga;',
  'export * from "./generated/YGEnums.js";',
];
const YOGA_GLUE_SCRIPT_DIR = 'var _scriptDir = import.meta.url;';
const YOGA_GLUE_WASM = /H="data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/;
const YOGA_GLUE_HOOK = 'if(h.instantiateWasm)try{return h.instantiateWasm(d,';

// ink 6.8: the two development-only top-level awaits in build/reconciler.js.
const INK_DEVTOOLS_BLOCK = `if (isDev()) {
    try {
        await import('./devtools.js');
    }
    catch (error) {
        if (error.code === 'ERR_MODULE_NOT_FOUND') {
            console.warn(\`
The environment variable DEV is set to true, so Ink tried to import \\\`react-devtools-core\\\`,
but this failed as it was not installed. Debugging with React Devtools requires it.

To install use this command:

$ npm install --save-dev react-devtools-core
				\`.trim() + '\\n');
        }
        else {
            // eslint-disable-next-line @typescript-eslint/only-throw-error
            throw error;
        }
    }
}
`;
const INK_PACKAGE_JSON_BLOCK = `async function loadPackageJson() {
    const fs = await import('node:fs');
    const content = fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    return JSON.parse(content);
}
const packageJson = isDev()
    ? await loadPackageJson()
    : { name: undefined, version: undefined };
`;

/** Thrown (as a build error) when a library file is not what the patches were written for. */
function unexpected(file, what) {
  return new Error(
    `${file} does not look as scripts/esbuild-ink.mjs expects (${what}). ink or yoga-layout changed: ` +
      're-check the patches in scripts/esbuild-ink.mjs against the new files before bundling.',
  );
}

/** Replaces `search` (which must occur exactly once) in text. */
function replaceOnce(text, search, replacement, file) {
  const at = text.indexOf(search);
  if (at === -1 || text.indexOf(search, at + 1) !== -1) throw unexpected(file, `expected exactly one ${JSON.stringify(search.slice(0, 60))}…`);
  return text.slice(0, at) + replacement + text.slice(at + search.length);
}

/** Where the patched library files are, resolved the way ink resolves them. */
function libraryFiles(root) {
  const requireFromRoot = createRequire(join(root, 'package.json'));
  const inkBuild = dirname(requireFromRoot.resolve('ink')); // <ink>/build/index.js
  const requireFromInk = createRequire(join(inkBuild, 'index.js'));
  const yogaEntry = requireFromInk.resolve('yoga-layout');
  return {
    reconciler: join(inkBuild, 'reconciler.js'),
    yogaEntry,
    yogaGlue: join(dirname(yogaEntry), '..', 'binaries', 'yoga-wasm-base64-esm.js'),
  };
}

/** The patched reconciler.js: both development-only awaits removed (esbuild refuses any left in cjs output). */
function patchReconciler(text, file) {
  let out = replaceOnce(text, INK_DEVTOOLS_BLOCK, '// jobctl build: the development-only React devtools hook is removed (scripts/esbuild-ink.mjs).\n', file);
  out = replaceOnce(out, INK_PACKAGE_JSON_BLOCK, 'const packageJson = { name: undefined, version: undefined }; // jobctl build: development-only\n', file);
  return out;
}

/** The base64 wasm embedded in yoga's emscripten glue. */
function yogaWasmBase64(glue, file) {
  const m = YOGA_GLUE_WASM.exec(glue);
  if (!m) throw unexpected(file, 'no embedded base64 wasm');
  return m[1];
}

/** The glue without import.meta (absent in CommonJS) and without the wasm (the entry carries it). */
function patchYogaGlue(text, file) {
  if (!text.includes(YOGA_GLUE_HOOK)) throw unexpected(file, 'no emscripten instantiateWasm hook');
  let out = replaceOnce(text, YOGA_GLUE_SCRIPT_DIR, 'var _scriptDir = undefined; // jobctl build: no import.meta in CommonJS', file);
  out = out.replace(YOGA_GLUE_WASM, 'H=""');
  return out;
}

/** The replacement of yoga-layout's entry: instantiates the wasm synchronously, no top-level await. */
function yogaEntrySource(entryText, base64, file) {
  for (const line of YOGA_ENTRY_EXPECTED) if (!entryText.includes(line)) throw unexpected(file, `missing ${JSON.stringify(line)}`);
  return `// jobctl build (scripts/esbuild-ink.mjs): yoga-layout's entry without top-level await.
import loadYoga from '../binaries/yoga-wasm-base64-esm.js';
import wrapAssembly from './wrapAssembly.js';

const WASM_BASE64 = ${JSON.stringify(base64)};
let failure = null;
const yogaModule = {
  // emscripten's hook: return the exports and hand the instance to receive() before returning.
  instantiateWasm(imports, receive) {
    try {
      const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64')), imports);
      receive(instance);
      return instance.exports;
    } catch (err) {
      failure = err;
      throw err;
    }
  },
};
// The loader returns a promise as well; with the hook above it has already settled.
loadYoga(yogaModule).catch(() => undefined);
if (!yogaModule.calledRun) {
  throw new Error('yoga-layout did not initialise synchronously (jobctl build, scripts/esbuild-ink.mjs)' + (failure ? ': ' + failure.message : ''), { cause: failure });
}
const Yoga = wrapAssembly(yogaModule);
export default Yoga;
export * from './generated/YGEnums.js';
`;
}

/** Checks every library file the plugin patches; returns esbuild errors (empty when all is well). */
function verify(files) {
  const errors = [];
  const attempt = (fn) => {
    try {
      fn();
    } catch (err) {
      errors.push({ text: err.message });
    }
  };
  attempt(() => patchReconciler(readFileSync(files.reconciler, 'utf8'), files.reconciler));
  attempt(() => {
    const glue = readFileSync(files.yogaGlue, 'utf8');
    yogaEntrySource(readFileSync(files.yogaEntry, 'utf8'), yogaWasmBase64(glue, files.yogaGlue), files.yogaEntry);
    patchYogaGlue(glue, files.yogaGlue);
  });
  return errors;
}

/**
 * The plugin. `root` is the project directory (where node_modules is). Used by both builds: when ink
 * is external (the ESM test build) only the checks run; when it is bundled, the patches apply.
 */
export function inkCjsPlugin(root) {
  return {
    name: PLUGIN,
    setup(build) {
      const files = libraryFiles(root);
      build.onStart(() => ({ errors: verify(files) }));
      build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: PLUGIN }));
      build.onLoad({ filter: /.*/, namespace: PLUGIN }, () => ({
        contents: 'export default { initialize() {}, connectToDevTools() {} };',
        loader: 'js',
      }));
      const exactly = (path) => new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
      build.onLoad({ filter: exactly(files.reconciler) }, (args) => ({
        contents: patchReconciler(readFileSync(args.path, 'utf8'), args.path),
        loader: 'js',
      }));
      build.onLoad({ filter: exactly(files.yogaEntry) }, (args) => ({
        contents: yogaEntrySource(readFileSync(args.path, 'utf8'), yogaWasmBase64(readFileSync(files.yogaGlue, 'utf8'), files.yogaGlue), args.path),
        loader: 'js',
        resolveDir: dirname(args.path),
      }));
      build.onLoad({ filter: exactly(files.yogaGlue) }, (args) => ({
        contents: patchYogaGlue(readFileSync(args.path, 'utf8'), args.path),
        loader: 'js',
      }));
    },
  };
}
