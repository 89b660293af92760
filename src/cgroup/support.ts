// Whether each limit is enforceable on this host: through which files, or why not and how to fix it.
// Pure decisions over what probe.ts found (the layout, the usable hierarchies, the v2 delegation);
// the only I/O is checking that the kernel made a limit's file in <own>/<instance>.

import { join } from 'node:path';
import type { LimitName } from '../rpc/model.ts';
import type { DelegationResult } from './delegate.ts';
import { exists } from './files.ts';
import { v1Name, type Backend, type BackendPlan, type DetectedLayout, type Hierarchy, type LimitController } from './layout.ts';
import type { LimitSupport } from './types.ts';

/** What limitSupport needs to know. */
export interface SupportInput {
  layout: DetectedLayout;
  plan: BackendPlan;
  delegation: DelegationResult | null;
  /** Makes sure <own>/<instance> exists in h; false when it cannot be created. */
  use: (h: Hierarchy) => boolean;
  /** Why use(h) failed. */
  unusableReason: (h: Hierarchy) => string | undefined;
  /** <own>/<instance> of a hierarchy. */
  instanceDir: (h: Hierarchy) => string;
}

/** The result: per limit name, and per controller where it is enforced (null: not enforceable). */
export interface SupportResult {
  limits: Record<LimitName, LimitSupport>;
  enforce: Record<LimitController, Backend | null>;
}

/** Fix for "cannot create a cgroup here". */
const PERMISSION_FIX = 'run the daemon as root, or under systemd with Delegate=yes (`jobctl service install`)';

/** The file whose presence proves the kernel can enforce the limit (CFS_BANDWIDTH, BLK_DEV_THROTTLING … are build options). */
const V1_FILE: Record<LimitController, string> = { cpu: 'cpu.cfs_quota_us', memory: 'memory.limit_in_bytes', pids: 'pids.max', io: 'blkio.throttle.read_bps_device' };
const V2_FILE: Record<LimitController, string> = { cpu: 'cpu.max', memory: 'memory.max', pids: 'pids.max', io: 'io.max' };
const KCONFIG: Record<LimitController, string> = { cpu: 'CONFIG_CFS_BANDWIDTH', memory: 'CONFIG_MEMCG', pids: 'CONFIG_CGROUP_PIDS', io: 'CONFIG_BLK_DEV_THROTTLING' };

/** A "not enforceable" answer. */
function no(reason: string, fix: string | null): LimitSupport {
  return { enforceable: false, via: null, reason, fix };
}

/** Decides every limit. ioWrite follows ioRead, except on v1, which cannot hold it (see below). */
export function limitSupport(input: SupportInput): SupportResult {
  const { layout, plan, delegation, use, instanceDir } = input;
  const v2h = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const enforce: Record<LimitController, Backend | null> = { cpu: null, memory: null, pids: null, io: null };

  const supportOf = (c: LimitController): LimitSupport => {
    const b = plan[c];
    if (layout.kind === 'none') {
      return no('no cgroup hierarchy is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo)', 'mount cgroup2 on /sys/fs/cgroup (systemd does this), then restart the daemon');
    }
    if (!b) {
      const name = v1Name(c);
      if (v2h) {
        return no(
          `cgroup v2 ${c} controller not available to the daemon's cgroup ${v2h.ownPath} (not in ${join(v2h.ownDir, 'cgroup.controllers')})${layout.kind === 'hybrid' ? ` and no cgroup v1 ${name} hierarchy is mounted` : ''}`,
          `delegate it: run the daemon under systemd with Delegate=yes (\`jobctl service install\`), or enable "+${c}" in the parent cgroup's cgroup.subtree_control`,
        );
      }
      return no(`no cgroup v1 hierarchy with the ${name} controller is mounted`, `mount it (mount -t cgroup -o ${name} cgroup /sys/fs/cgroup/${name}) or use a host with cgroup v2`);
    }
    if (!use(b.hierarchy)) return no(input.unusableReason(b.hierarchy) ?? 'cannot create cgroups', PERMISSION_FIX);
    const inst = instanceDir(b.hierarchy);
    if (b.version === 2) {
      const failure = delegation?.failed.get(c);
      if (failure) return no(failure.reason, failure.fix);
      if (!delegation?.enabled.includes(c)) return no(`cgroup v2 ${c} controller could not be enabled in ${join(inst, 'cgroup.subtree_control')}`, PERMISSION_FIX);
      if (!exists(join(inst, V2_FILE[c]))) return no(`${join(inst, V2_FILE[c])} is missing`, `use a kernel built with ${KCONFIG[c]}`);
      enforce[c] = b;
      return { enforceable: true, via: `cgroup v2 ${V2_FILE[c]} under ${inst}`, reason: null, fix: null };
    }
    const file = join(inst, V1_FILE[c]);
    if (!exists(file)) return no(`${file} is missing: the kernel lacks ${KCONFIG[c]}`, `use a kernel built with ${KCONFIG[c]}, or a host with cgroup v2`);
    enforce[c] = b;
    const files = c === 'cpu' ? 'cpu.cfs_period_us + cpu.cfs_quota_us'
      : c === 'memory' ? (exists(join(inst, 'memory.memsw.limit_in_bytes')) ? 'memory.limit_in_bytes + memory.memsw.limit_in_bytes' : 'memory.limit_in_bytes')
      : V1_FILE[c];
    return { enforceable: true, via: `cgroup v1 ${files} under ${inst}`, reason: null, fix: null };
  };

  const cpu = supportOf('cpu');
  const memory = supportOf('memory');
  const pids = supportOf('pids');
  const ioRead = supportOf('io');
  // v1 throttles only I/O it sees at submission; buffered writes are submitted later by writeback
  // threads outside the job's cgroup, so a v1 write limit does not hold (80 MB/s escaped 5 MiB/s here).
  const ioWrite = ioRead.enforceable && enforce.io?.version === 1
    ? no(
      'cgroup v1 blkio does not throttle buffered writeback (measured: 80 MB/s escaped a 5 MiB/s limit), so a write limit would not hold',
      'run jobctl on a host with cgroup v2 (the unified hierarchy; systemd.unified_cgroup_hierarchy=1 on the kernel command line), or drop --io-write',
    )
    : { ...ioRead };
  return { limits: { cpu, memory, pids, ioRead, ioWrite }, enforce };
}
