// A real supervisor over a real SQLite file and the host's real cgroups, in a temp dir, for the
// benchmarks; close() removes the jobs' cgroups, the instance subtree and the temp dir.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openCgroupHost, type CgroupHost } from '../../src/cgroup/index.ts';
import { Supervisor } from '../../src/jobs/supervisor.ts';
import { openStore, type LogStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import type { JobSpec, Limits } from '../../src/rpc/model.ts';
import { onInterrupt } from './stats.ts';

/** One benchmark's supervisor and everything it owns. */
export interface Rig {
  dir: string;
  store: Store;
  cgroups: CgroupHost | null;
  supervisor: Supervisor;
  spec(argv: string[], limits?: Limits): JobSpec;
  close(): Promise<void>;
}

/** The environment jobs get: PATH only, like a `--clean-env` job with PATH added. */
export const JOB_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** A fresh temp dir (under JOBCTL_BENCH_DIR when set: pick a disk-backed one for the ingest figures). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(process.env.JOBCTL_BENCH_DIR ?? tmpdir(), prefix));
}

/** How to build a rig. */
export interface RigOptions {
  store?: StoreOptions;
  /** false: no cgroups (jobs run in a process group, as on a host without usable cgroups). */
  withCgroups?: boolean;
  /** Replaces the log store the supervisor writes to (e.g. one that only counts, for a breakdown). */
  wrapLogs?: (real: LogStore) => LogStore;
  /**
   * What-if experiments only: SQLite pragmas applied to the store's connection after it opened
   * (page_size: to the new file before the store creates its tables). Not jobctl's configuration.
   */
  pragmas?: string[];
}

/** Opens a supervisor with cgroups (when the host has them) under a unique instance name. */
export function openRig(options: RigOptions = {}): Rig {
  const dir = tempDir('jobctl-bench-');
  const file = join(dir, 'jobctl.db');
  const pragmas = options.pragmas ?? [];
  const pageSize = pragmas.filter((p) => /^\s*page_size\s*=/i.test(p));
  if (pageSize.length > 0) {
    // page_size only takes on a database that has no page yet: create the file with it first.
    const db = new Database(file);
    for (const p of pageSize) db.pragma(p);
    db.exec('CREATE TABLE bench_page_size (x); DROP TABLE bench_page_size;');
    db.close();
  }
  const store = openStore(file, options.store);
  let cgroups: CgroupHost | null = null;
  try {
    for (const p of pragmas) if (!pageSize.includes(p)) store.db.pragma(p);
    if (options.withCgroups !== false) cgroups = openCgroupHost({ instance: `jobctl-bench-${randomBytes(4).toString('hex')}` });
  } catch (err) {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const supervised: Store = options.wrapLogs ? { ...store, logs: options.wrapLogs(store.logs), close: () => store.close() } : store;
  const supervisor = new Supervisor({ store: supervised, cgroups, defaultGraceMs: 1000, onWarning: (m) => process.stderr.write(`supervisor warning: ${m}\n`) });
  let closed = false;
  let unregister = (): void => undefined;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    unregister();
    // Stops anything still running, then removes the instance subtree in every hierarchy.
    await supervisor.shutdown(0);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  unregister = onInterrupt(close);
  return {
    dir,
    store,
    cgroups,
    supervisor,
    spec: (argv, limits = {}) => ({ argv, cwd: dir, env: JOB_ENV, limits }),
    close,
  };
}
