// Preloaded into a daemon under test (NODE_OPTIONS="--expose-gc --import THIS"): on SIGUSR2 it runs a
// full garbage collection and appends process.memoryUsage() as one JSON line to $JOBCTL_MEM_REPORT.
// Measures what the daemon really keeps (a leak), apart from how lazily V8 collects. Adds nothing to
// the daemon itself.
import { appendFileSync } from 'node:fs';

const file = process.env.JOBCTL_MEM_REPORT;
if (file) {
  process.on('SIGUSR2', () => {
    (globalThis as { gc?: () => void }).gc?.();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...process.memoryUsage() })}\n`);
  });
}
