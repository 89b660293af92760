// Spawned by checkpoint.test.ts: `node build/test/store/checkpoint-close.fixture.js <dbfile>`. Opens a
// store, waits for its checkpoint worker, writes 64 MiB of output and closes the store at once (the
// worker is then checkpointing). Prints the threads of this process before, during and after, as
// JSON, and ends WITHOUT process.exit: the test checks that the process exits by itself.
import { readdirSync } from 'node:fs';
import { openStore } from '../../src/store/index.ts';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: checkpoint-close.fixture.js DBFILE');
const threads = (): number => readdirSync('/proc/self/task').length;
const poll = async (check: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
};

const threadsBefore = threads();
const store = openStore(file);
await poll(() => store.checkpoints.mode !== 'starting', 10_000);
const threadsOpen = threads();
const mode = store.checkpoints.mode;
const job = store.jobs.insert({ owner: 'close', name: null, argv: ['close'], cwd: '/', env: {}, limits: {}, createdAt: Date.now() });
const writer = store.logs.writer(job.id);
for (let n = 0; n < 1024; n++) {
  writer.append(1, Buffer.alloc(64 * 1024, n & 0xff));
  if (n % 3 === 2) await new Promise((r) => setImmediate(r));
}
const passes = store.checkpoints.passes;
store.close();
const modeAfter = store.checkpoints.mode;
await poll(() => threads() === threadsBefore, 10_000);
process.stdout.write(`${JSON.stringify({ threadsBefore, threadsOpen, threadsAfter: threads(), mode, modeAfter, passes })}\n`);
