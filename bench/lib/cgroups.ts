// Removes what a daemon under benchmark may have left in the cgroup hierarchies: empty directories
// named after its instance (the daemon is stopped first, so nothing of it still runs).
import { readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupInstanceName } from '../../src/home/paths.ts';

const ROOT = '/sys/fs/cgroup';

/** Directories named `instance` up to a few levels below /sys/fs/cgroup. */
function find(dir: string, instance: string, depth: number, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const path = join(dir, e.name);
    if (e.name === instance) out.push(path);
    else if (depth > 0 && !e.name.startsWith('jobctl-')) find(path, instance, depth - 1, out);
  }
}

/** rmdir a cgroup tree bottom-up; a directory that still holds processes is left (and named in the result). */
function removeTree(dir: string, kept: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(join(dir, e.name), kept);
  try {
    if (readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '') {
      kept.push(dir);
      return;
    }
    rmdirSync(dir);
  } catch {
    kept.push(dir);
  }
}

/** Removes the instance's empty cgroup directories in every hierarchy; returns those that were left there by the daemon. */
export function removeInstanceLeftovers(instance: string): string[] {
  const found: string[] = [];
  find(ROOT, instance, 4, found);
  const kept: string[] = [];
  for (const dir of found) removeTree(dir, kept);
  if (found.length > 0) process.stderr.write(`  note: the stopped daemon left ${found.length} cgroup director${found.length === 1 ? 'y' : 'ies'} named ${instance}; removed${kept.length ? `, except ${kept.join(', ')}` : ''}\n`);
  return found;
}


/** The cgroup instance name a daemon derives from its home. */
export function daemonInstance(home: string): string {
  return cgroupInstanceName(home);
}
