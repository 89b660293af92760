// Pure parsers for /proc/self/mountinfo and /proc/self/cgroup. No I/O: callers pass the texts, so
// every layout can be unit-tested from fixture strings.

/** One line of /proc/self/mountinfo (see proc(5)). */
export interface MountEntry {
  id: number;
  parentId: number;
  /** Device of the filesystem (st_dev), e.g. 254:0; 0:N for tmpfs, overlay, cgroupfs. */
  major: number;
  minor: number;
  /** Path inside the filesystem that is mounted here ("/" unless a bind or container view). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** One line of /proc/self/cgroup: "hierarchy-ID:controller-list:path" (v2 is "0::path"). */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1: e.g. ["cpu","cpuacct"] or ["name=systemd"]; v2: []. */
  controllers: string[];
  path: string;
}

/**
 * Undoes the kernel's octal escaping of mountinfo fields: space, tab, newline and backslash are
 * written as \040, \011, \012, \134 (fs/proc_namespace.c, mangle()).
 */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo; malformed lines are skipped (a partial read must not throw). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    // Optional fields (shared:N, master:N …) sit between the 6th field and a lone "-".
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    const [id, parentId, devno, root, mountPoint, options] = fields;
    const dev = /^(\d+):(\d+)$/.exec(devno ?? '');
    if (id === undefined || parentId === undefined || root === undefined || mountPoint === undefined || !dev) continue;
    out.push({
      id: Number(id),
      parentId: Number(parentId),
      major: Number(dev[1]),
      minor: Number(dev[2]),
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options: (options ?? '').split(','),
      fsType: unescapeMountField(fields[dash + 1] ?? ''),
      source: unescapeMountField(fields[dash + 2] ?? ''),
      superOptions: (fields[dash + 3] ?? '').split(',').filter((o) => o !== ''),
    });
  }
  return out;
}

/** Parses /proc/self/cgroup; the path is everything after the second colon (it may contain colons). */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const id = line.slice(0, first);
    if (!/^\d+$/.test(id)) continue;
    const list = line.slice(first + 1, second);
    out.push({
      hierarchyId: Number(id),
      controllers: list === '' ? [] : list.split(','),
      path: line.slice(second + 1),
    });
  }
  return out;
}
