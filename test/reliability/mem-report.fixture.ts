// Preloaded into a daemon under test (NODE_OPTIONS="--expose-gc --import THIS"): on SIGUSR2 it runs a
// full garbage collection and appends one JSON line to $JOBCTL_MEM_REPORT: process.memoryUsage(),
// the resident memory by kind (RssAnon, RssFile, RssShmem from /proc, bytes) and the physical size of
// each V8 heap space (`spaces`), so that growth can be told apart — V8 keeping a bigger young
// generation, or the allocator its high-water mark, is not the daemon holding more.
// Measures what the daemon really keeps (a leak), apart from how lazily V8 collects. Adds nothing to
// the daemon itself.
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.JOBCTL_MEM_REPORT;
if (file) {
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
    const status = readFileSync('/proc/self/status', 'utf8');
    const kinds = Object.fromEntries([...status.matchAll(/^(RssAnon|RssFile|RssShmem):\s+(\d+) kB$/gm)].map((m) => [m[1], Number(m[2]) * 1024]));
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...process.memoryUsage(), ...kinds, spaces })}\n`);
  });
}
