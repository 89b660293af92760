// A real supervisor over a real SQLite file and the host's real cgroups, in a temp dir, for tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openCgroupHost, type CgroupHost } from '../../src/cgroup/index.ts';
import { Supervisor, type SupervisorOptions } from '../../src/jobs/supervisor.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import type { JobSpec } from '../../src/rpc/model.ts';

/** One test's supervisor and everything it owns. */
export interface Harness {
  dir: string;
  dbFile: string;
  instance: string;
  store: Store;
  cgroups: CgroupHost | null;
  supervisor: Supervisor;
  spec(argv: string[], extra?: Partial<JobSpec>): JobSpec;
  close(): Promise<void>;
}

/** A fresh cgroup instance name, so parallel test files never touch each other's cgroups. */
export function testInstance(): string {
  return `jobctl-test-${randomBytes(4).toString('hex')}`;
}

/** Builds a harness; `withCgroups: false` simulates a host without usable cgroups. */
export function makeHarness(options: { withCgroups?: boolean; instance?: string; dir?: string; supervisor?: Partial<SupervisorOptions> } = {}): Harness {
  const dir = options.dir ?? mkdtempSync(join(process.env.JOBCTL_VM_DISK ?? tmpdir(), 'jobctl-test-'));
  const dbFile = join(dir, 'jobctl.db');
  const instance = options.instance ?? testInstance();
  const store = openStore(dbFile);
  const cgroups = options.withCgroups === false ? null : openCgroupHost({ instance });
  const supervisor = new Supervisor({ store, cgroups, defaultGraceMs: 2000, ...options.supervisor });
  return {
    dir,
    dbFile,
    instance,
    store,
    cgroups,
    supervisor,
    spec: (argv, extra = {}) => ({ argv, cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, limits: {}, ...extra }),
    async close() {
      await supervisor.shutdown(0);
      store.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** All output of a job, per stream, as stored. */
export function output(store: Store, id: number): { stdout: Buffer; stderr: Buffer; order: Array<1 | 2> } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const order: Array<1 | 2> = [];
  for (let after = 0; ; ) {
    const page = store.logs.read(id, { afterSeq: after, limit: 10_000, maxBytes: 64 * 1024 * 1024 });
    if (page.length === 0) break;
    for (const chunk of page) {
      (chunk.stream === 1 ? out : err).push(chunk.data);
      order.push(chunk.stream);
    }
    after = page[page.length - 1]!.seq;
  }
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), order };
}

/** PIDs of this process's children that run jobctl-spawner (a supervisor's or a Spawner's). */
export function spawnerChildren(): number[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'jobctl-spawner';
    } catch {
      return false;
    }
  });
}
