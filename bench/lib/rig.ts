// A real supervisor over a real SQLite file and the host's real cgroups, in a temp dir, for the
// benchmarks; close() removes the jobs' cgroups, the instance subtree and the temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openCgroupHost, type CgroupHost } from '../../src/cgroup/index.ts';
import { Supervisor } from '../../src/jobs/supervisor.ts';
import { openStore, type LogStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import type { JobSpec, Limits } from '../../src/rpc/model.ts';

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

/** Opens a supervisor with cgroups (when the host has them) under a unique instance name. */
export function openRig(options: { store?: StoreOptions; withCgroups?: boolean; wrapLogs?: (real: LogStore) => LogStore } = {}): Rig {
  const dir = tempDir('jobctl-bench-');
  const store = openStore(join(dir, 'jobctl.db'), options.store);
  let cgroups: CgroupHost | null = null;
  try {
    if (options.withCgroups !== false) cgroups = openCgroupHost({ instance: `jobctl-bench-${randomBytes(4).toString('hex')}` });
  } catch (err) {
    store.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // wrapLogs lets a breakdown replace the log store the supervisor writes to (e.g. one that discards).
  const supervised: Store = options.wrapLogs ? { ...store, logs: options.wrapLogs(store.logs), close: () => store.close() } : store;
  const supervisor = new Supervisor({ store: supervised, cgroups, defaultGraceMs: 1000, onWarning: (m) => process.stderr.write(`supervisor warning: ${m}\n`) });
  let closed = false;
  return {
    dir,
    store,
    cgroups,
    supervisor,
    spec: (argv, limits = {}) => ({ argv, cwd: dir, env: JOB_ENV, limits }),
    async close() {
      if (closed) return;
      closed = true;
      // Stops anything still running, then removes the instance subtree in every hierarchy.
      await supervisor.shutdown(0);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
