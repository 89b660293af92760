// Preloaded into every Node process of the Node 24 test run (scripts/test-node24.sh sets
// NODE_OPTIONS=--require this file): better-sqlite3 then loads the addon compiled for Node 24
// (JOBCTL_NODE24_SQLITE_ADDON) instead of node_modules' own, which stays built for the development
// Node. The switch sits where better-sqlite3 itself looks its addon up — it calls
// require('bindings')('better_sqlite3.node') — so every way of opening SQLite (the store, a test
// helper, a fixture in a child process) gets it, and nothing in node_modules is rebuilt or restored.
'use strict';
const { registerHooks } = require('node:module');
const { pathToFileURL } = require('node:url');

const addon = process.env.JOBCTL_NODE24_SQLITE_ADDON;
if (!addon) throw new Error('node24-sqlite-preload: JOBCTL_NODE24_SQLITE_ADDON is not set');
// Only Node 24 processes switch: another Node started during the run (say /usr/bin/node by absolute
// path) keeps node_modules' addon, which is the right one for the development Node.
const active = process.versions.node.startsWith('24.');

/**
 * Stands in for the `bindings` package inside better-sqlite3: returns the Node 24 addon. Loaded with
 * require, as `bindings` does, so that it is in require.cache like an addon loaded normally: the
 * store finds the file there to load the same one in its checkpoint worker thread
 * (src/store/native-binding.ts, nativeAddonFile).
 */
module.exports = function bindings() {
  return require(addon);
};

const self = pathToFileURL(__filename).href;
if (active) registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'bindings' && /[\\/]better-sqlite3[\\/]lib[\\/]/.test(context.parentURL ?? '')) return { url: self, shortCircuit: true };
    return next(specifier, context);
  },
});
