// Spawned by crash.test.ts: `node build/test/store/crash-writer.fixture.js <dbfile>`. Opens the store,
// creates a job, and appends chunkFor(1), chunkFor(2), … until killed. After each commit it prints the
// highest committed seq on its own line, followed by the checkpoint worker's passes and holds (stdout
// to a pipe is synchronous on Linux, so a printed seq was committed before the line left). Commits
// alternate between flush() and the writer's own queued commit. Gives up after 60 s in case the test
// died without killing it.
import { COMMIT_INTERVAL_MS, openStore } from '../../src/store/index.ts';
import { chunkFor } from './crash-data.ts';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: crash-writer.fixture.js DBFILE');
const store = openStore(file);
const job = store.jobs.insert({ owner: 'crash', name: null, argv: ['crash'], cwd: '/', env: {}, limits: {}, createdAt: Date.now() });
process.stdout.write(`job ${job.id}\n`);
const writer = store.logs.writer(job.id);
const deadline = Date.now() + 60_000;
let seq = 1;
while (Date.now() < deadline) {
  const batch = 1 + (seq % 8);
  for (let i = 0; i < batch; i++, seq++) {
    const { stream, data } = chunkFor(seq);
    writer.append(stream, data);
  }
  if (seq % 2 === 0) writer.flush();
  else {
    // The writer's own queued commit: due after the interval, later while the checkpointer holds the
    // writers' commits for a pass (up to 250 ms; on a loaded machine that is most of the time).
    const until = Date.now() + 5_000;
    do await new Promise((resolve) => setTimeout(resolve, COMMIT_INTERVAL_MS + 1));
    while (writer.committedSeq !== seq - 1 && Date.now() < until);
  }
  if (writer.committedSeq !== seq - 1) throw new Error(`committed ${writer.committedSeq}, expected ${seq - 1}`);
  process.stdout.write(`${writer.committedSeq} ${store.checkpoints.passes} ${store.checkpoints.holds}\n`);
}
store.close();
