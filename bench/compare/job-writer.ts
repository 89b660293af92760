// A job for the fan-out scenario, run the same way under every tool: prints "ready", waits until the
// benchmark opens and closes the gate FIFO (every follower is attached by then), writes text lines to
// stdout at a fixed rate for a fixed time, and records how long the writing really took — longer than
// planned means the tool's capture blocked the job (a full pipe).
//   node job-writer.js RATE_BYTES_PER_S SECONDS GATE_FIFO DONE_FILE
import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';

const [rateArg, secondsArg, gate, doneFile] = process.argv.slice(2);
if (!rateArg || !secondsArg || !gate || !doneFile) {
  process.stderr.write('usage: job-writer RATE_BYTES_PER_S SECONDS GATE_FIFO DONE_FILE\n');
  process.exit(2);
}
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));

writeSync(1, 'ready\n');
// Opening a FIFO for reading blocks until the benchmark opens it for writing; EOF is the start signal.
const fd = openSync(gate, 'r');
const scratch = Buffer.alloc(64);
while (readSync(fd, scratch) > 0);
closeSync(fd);

// 64 KiB of 64-byte text lines, written whole each time.
const line = Buffer.from(`${'x'.repeat(63)}\n`);
const block = Buffer.alloc(64 * 1024);
for (let i = 0; i < block.length; i += line.length) line.copy(block, i);
const pause = new Int32Array(new SharedArrayBuffer(4));
const t0 = performance.now();
let written = 0;
while (written < total) {
  const n = Math.min(block.length, total - written);
  let off = 0;
  while (off < n) off += writeSync(1, block, off, n - off);
  written += n;
  // Ahead of schedule: sleep until the rate catches up (never busy-waits).
  const ahead = (written / rate) * 1000 - (performance.now() - t0);
  if (ahead > 1) Atomics.wait(pause, 0, 0, ahead);
}
const ms = performance.now() - t0;
writeFileSync(doneFile, JSON.stringify({ ms, bytes: written }));
