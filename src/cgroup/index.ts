// The public face of the cgroup layer: the host factory, the pure layout parser and the types.
// Everything else in this folder is internal.

export type {
  CgroupHost,
  CgroupOptions,
  Capabilities,
  HierarchyInfo,
  JobCgroup,
  JobCgroupStats,
  KillMethod,
  LayoutKind,
  LimitSupport,
} from './types.ts';
export { openCgroupHost } from './host.ts';
export { detectLayout, chooseBackends, type DetectedLayout, type Hierarchy, type BackendPlan } from './layout.ts';
