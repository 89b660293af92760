// daemon.json: how clients find the running daemon of a home ({endpoint, pid, ...}), written atomically.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** What daemon.json holds. */
export interface DaemonFile {
  endpoint: string;
  pid: number;
  startedAt: string;
  version: string;
}

/** Writes daemon.json atomically (temp file + rename), so a reader never sees half a file. */
export function writeDaemonFile(path: string, content: DaemonFile): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}

/** Reads daemon.json; null when it is missing or unreadable. */
export function readDaemonFile(path: string): DaemonFile | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DaemonFile>;
    if (typeof parsed.endpoint !== 'string' || typeof parsed.pid !== 'number') return null;
    return parsed as DaemonFile;
  } catch {
    return null;
  }
}

/** Removes daemon.json if it still names this process. */
export function removeDaemonFile(path: string, pid: number): void {
  if (readDaemonFile(path)?.pid === pid) rmSync(path, { force: true });
}
