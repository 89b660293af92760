// Facts about a process read from /proc: used to recognise our own job process after a daemon restart
// (a PID alone can be reused by an unrelated process — never kill by PID without checking start time).
import { readFileSync } from 'node:fs';

/** The process's start time (clock ticks since boot, field 22 of /proc/PID/stat) as a string, or null if gone. */
export function processStartTime(pid: number, procRoot = '/proc'): string | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the LAST ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** CPU time (µs) and resident memory (bytes) of one process, or null if it is gone. */
export function processUsage(pid: number, procRoot = '/proc'): { cpuUsec: number; rssBytes: number } | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    // USER_HZ is 100 on every Linux architecture Node supports; pages are 4 KiB on x86-64/arm64 defaults.
    return { cpuUsec: ticks * 10_000, rssBytes: rssPages * 4096 };
  } catch {
    return null;
  }
}

/**
 * True once the process that had this PID and start time has exited: /proc has no such PID, it is a
 * zombie, or the PID now belongs to a process started at another time (reused).
 */
export function processEnded(pid: number, startTime: string | null, procRoot = '/proc'): boolean {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' || (startTime !== null && fields[19] !== startTime);
  } catch {
    return true;
  }
}
