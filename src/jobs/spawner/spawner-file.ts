// Where the jobctl-spawner program is. From a source checkout or an npm install, `npm run build`
// compiles it next to the bundle (dist/jobctl-spawner); inside the single executable it is an
// embedded asset, written once to a private cache directory (execve needs a file).
import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getAsset, getRawAsset, isSea } from 'node:sea';
import { useCachedFile } from '../../home/cache-file.ts';
import { JobctlError } from '../../rpc/errors.ts';

/** The program's file name, in dist/ and as an asset of the single executable (pkg.config.json). */
export const SPAWNER_NAME = 'jobctl-spawner';
/** A text asset holding the program's SHA-256 (hex), computed at build time: the cache key. */
const HASH_ASSET = 'jobctl-spawner.sha256';

/** The path of an executable jobctl-spawner; throws a coded error saying what to do when there is none. */
export function spawnerFile(env: NodeJS.ProcessEnv = process.env): string {
  if (isSea()) return embeddedSpawner(env);
  const looked: string[] = [];
  for (const start of startDirs()) {
    // Up from the bundle (dist/), the entry script (bin/) or a compiled test (build/test/…) to the
    // directory holding dist/.
    for (let dir = start; ; dir = dirname(dir)) {
      for (const file of [join(dir, SPAWNER_NAME), join(dir, 'dist', SPAWNER_NAME)]) {
        looked.push(file);
        if (isExecutable(file)) return file;
      }
      if (dirname(dir) === dir) break;
    }
  }
  throw new JobctlError('INTERNAL', `cannot find the ${SPAWNER_NAME} program, which starts every job (looked for ${[...new Set(looked)].slice(0, 4).join(', ')}…); build it with \`npm run build\` (needs a C compiler)`);
}

function startDirs(): string[] {
  const dirs: string[] = [];
  // The bundle's own file (bin/jobctl runs it with __filename set); undefined in ES module builds.
  if (typeof __filename === 'string') dirs.push(dirname(__filename));
  const entry = process.argv[1];
  if (entry) {
    try {
      dirs.push(dirname(realpathSync(entry)));
    } catch {
      // not a file (node -e): nothing to start from
    }
  }
  return dirs;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function embeddedSpawner(env: NodeJS.ProcessEnv): string {
  const hash = (getAsset(HASH_ASSET, 'utf8') as string).trim().slice(0, 16);
  const bytes = new Uint8Array(getRawAsset(SPAWNER_NAME) as ArrayBuffer);
  try {
    // access(X_OK) answers EACCES on a noexec mount (the kernel checks it): the next directory may do.
    return useCachedFile(`${SPAWNER_NAME}-${hash}`, bytes, (file) => (accessSync(file, constants.X_OK), file), env);
  } catch (err) {
    throw new JobctlError('INTERNAL', `cannot write the ${SPAWNER_NAME} program embedded in this executable (${(err as Error).message}); set XDG_CACHE_HOME to a writable directory of yours`);
  }
}
