// Which compiled SQLite addon better-sqlite3 uses inside the single executable (Node SEA). There is
// no node_modules there: the addon is an embedded asset. dlopen needs a file, so it is written once,
// atomically, to a cache directory under a name holding its hash, and loaded from there (a path string
// as `nativeBinding` fails inside a SEA; the loaded module object works). Outside a SEA nothing is
// chosen here and better-sqlite3 loads its own addon from node_modules. Either way nativeAddonFile()
// tells which file it was, for the checkpoint worker to load the same one (checkpointer.ts).
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAsset, getRawAsset, isSea } from 'node:sea';
import type Database from 'better-sqlite3';
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
  const failures: string[] = [];
  for (const dir of cacheDirs(env)) {
    const file = join(dir, `better_sqlite3-${hash}.node`);
    try {
      ensurePrivateDir(dir);
      if (existingSize(file) !== bytes.byteLength) writeAtomically(file, bytes);
      // dlopen fails here on a noexec mount ("failed to map segment"): the next directory may do.
      const module = dlopen(file);
      loadedFile = file;
      return module;
    } catch (err) {
      failures.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new JobctlError(
    'INTERNAL',
    `cannot load the SQLite addon embedded in this executable (tried ${failures.join('; ')}); set XDG_CACHE_HOME to a writable directory of yours on a file system mounted without noexec`,
  );
}

/**
 * Where the addon may be cached, best first: systemd's CacheDirectory=, the XDG cache, then a private
 * directory under the temp dir (last: /tmp is often mounted noexec, where dlopen fails).
 */
function cacheDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs: string[] = [];
  const systemd = env.CACHE_DIRECTORY?.split(':')[0];
  if (systemd) dirs.push(systemd);
  if (env.XDG_CACHE_HOME) dirs.push(join(env.XDG_CACHE_HOME, 'jobctl'));
  try {
    const home = env.HOME || homedir();
    if (home) dirs.push(join(home, '.cache', 'jobctl'));
  } catch {
    // no home directory (a passwd-less container user): the temp dir remains
  }
  dirs.push(join(tmpdir(), `jobctl-${process.getuid?.() ?? 'user'}`));
  return dirs;
}

function existingSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

// A shared directory (the temp dir) must be ours alone, or another user could plant a library there.
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw new Error('not a directory writable by this user alone');
  }
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o700);
  let written = false;
  try {
    for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
    fsyncSync(fd);
    written = true;
  } finally {
    closeSync(fd);
    if (!written) rmSync(temp, { force: true });
  }
  renameSync(temp, file);
}
