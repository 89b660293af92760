// Which compiled SQLite addon better-sqlite3 uses inside the single executable (Node SEA). There is
// no node_modules there: the addon is an embedded asset. dlopen needs a file, so it is written once
// to a cache directory under a name holding its hash (home/cache-file.ts), and loaded from there (a path string
// as `nativeBinding` fails inside a SEA; the loaded module object works). Outside a SEA nothing is
// chosen here and better-sqlite3 loads its own addon from node_modules. Either way nativeAddonFile()
// tells which file it was, for the checkpoint worker to load the same one (checkpointer.ts).
import { createRequire } from 'node:module';
import { getAsset, getRawAsset, isSea } from 'node:sea';
import type Database from 'better-sqlite3';
import { useCachedFile } from '../home/cache-file.ts';
import { JobctlError } from '../rpc/errors.ts';

/** Asset names in the single executable (pkg.config.json). */
const ADDON_ASSET = 'better_sqlite3.node';
/** A text asset holding the addon's SHA-256 (hex), computed at build time: the cache key. */
const ADDON_HASH_ASSET = 'better_sqlite3.node.sha256';

/** The loaded addon module (better-sqlite3 takes it as `nativeBinding`), once per process. */
let loaded: object | undefined;
/** The file it was loaded from. */
let loadedFile: string | undefined;

/**
 * Options for `new Database(file, …)`: inside a single executable, the embedded addon; elsewhere
 * `nativeBinding` is undefined and better-sqlite3 loads its own from node_modules. The library takes a
 * loaded module object as well as a path (lib/database.js); its type declarations know only the path.
 */
export function nativeBindingOption(env: NodeJS.ProcessEnv = process.env): Database.Options {
  if (!loaded && isSea()) loaded = loadEmbedded(env);
  return { nativeBinding: loaded as string | undefined };
}

/**
 * The addon file the store's connections use, once one is open: inside a single executable the
 * cached copy of the embedded asset; elsewhere the file better-sqlite3 required from node_modules,
 * found in Node's module cache (addons are cached by their path). undefined when neither is known.
 */
export function nativeAddonFile(): string | undefined {
  if (loadedFile !== undefined) return loadedFile;
  if (isSea()) return undefined;
  // Node's one module cache, whichever require is asked (the path only has to be absolute).
  const cache = createRequire('/').cache;
  return Object.keys(cache).find((path) => /[\\/]better_sqlite3\.node$/.test(path));
}

function dlopen(file: string): object {
  const module = { exports: {} };
  process.dlopen(module, file);
  return module.exports;
}

/** Writes the embedded addon to the first usable cache directory (once) and loads it from there. */
function loadEmbedded(env: NodeJS.ProcessEnv): object {
  const hash = (getAsset(ADDON_HASH_ASSET, 'utf8') as string).trim().slice(0, 16);
  // The raw asset is a read-only view of the executable's own mapping: no 2 MB copy on every start.
  const bytes = new Uint8Array(getRawAsset(ADDON_ASSET) as ArrayBuffer);
  try {
    return useCachedFile(
      `better_sqlite3-${hash}.node`,
      bytes,
      (file) => {
        // dlopen fails on a noexec mount ("failed to map segment"): the next directory may do.
        const module = dlopen(file);
        loadedFile = file;
        return module;
      },
      env,
    );
  } catch (err) {
    throw new JobctlError(
      'INTERNAL',
      `cannot load the SQLite addon embedded in this executable (${(err as Error).message}); set XDG_CACHE_HOME to a writable directory of yours on a file system mounted without noexec`,
    );
  }
}
