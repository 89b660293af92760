import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { chunkFor } from './crash-data.ts';
import { tempDir, within } from './helpers.ts';

const fixture = fileURLToPath(new URL('./crash-writer.fixture.js', import.meta.url));

/**
 * Runs the crash writer until it has reported `atLeast` commits and `passes` passes of the checkpoint
 * worker, then SIGKILLs it mid-stream.
 */
async function writeAndKill(file: string, atLeast: number, passes = 0): Promise<{ jobId: number; reported: number[]; passes: number; holds: number }> {
  const child = spawn(process.execPath, [fixture, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let jobId = 0;
  const reported: number[] = [];
  const checkpoints = { passes: 0, holds: 0 };
  let buffered = '';
  try {
    await within(30_000, `${atLeast} commits${passes > 0 ? ` and ${passes} checkpoint passes` : ''} reported by the crash writer`, new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? ''; // a line still being written
        for (const line of lines) {
          if (line.startsWith('job ')) jobId = Number(line.slice(4));
          else {
            const [seq, passed, held] = line.split(' ').map(Number);
            reported.push(seq ?? Number.NaN);
            checkpoints.passes = passed ?? 0;
            checkpoints.holds = held ?? 0;
          }
        }
        if (reported.length >= atLeast && checkpoints.passes >= passes) {
          child.kill('SIGKILL'); // while it keeps appending and committing
          resolve();
        }
      });
      void exited.then(({ code, signal }) => reject(new Error(`crash writer exited early (${code ?? signal}): ${stderr}`)));
    }));
  } finally {
    child.kill('SIGKILL');
  }
  const { signal } = await within(10_000, 'the crash writer to die', exited);
  assert.equal(signal, 'SIGKILL');
  return { jobId, reported, ...checkpoints };
}

test('SIGKILL mid-stream: the file is intact and every reported commit is there, byte for byte', async (t) => {
  const dir = tempDir(t);
  // A few kill points: early, after the first large chunks, and once the checkpoint worker has
  // copied the WAL into the database many times (it passes every 2 MiB: the kill may catch it mid-copy).
  for (const [round, atLeast, minPasses] of [[1, 40, 0], [2, 300, 0], [3, 1200, 40]] as const) {
    const file = join(dir, `crash-${round}.db`);
    const { jobId, reported, passes, holds } = await writeAndKill(file, atLeast, minPasses);
    const sizes = `database file ${statSync(file).size} bytes, WAL ${statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0} bytes`;
    assert.ok(jobId > 0, 'the writer announced its job');
    const highest = Math.max(...reported);
    assert.deepEqual(reported, [...reported].sort((a, b) => a - b), 'reported seqs ascend');

    const store = openStore(file); // recovers the WAL
    try {
      assert.equal(store.db.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(store.db.pragma('foreign_key_check'), []);
      let expectSeq = 1;
      let bytes = 0;
      for (;;) {
        const page = store.logs.read(jobId, { afterSeq: expectSeq - 1, limit: 256, maxBytes: 8 * 1024 * 1024 });
        if (page.length === 0) break;
        for (const chunk of page) {
          assert.equal(chunk.seq, expectSeq, 'no hole in the committed sequence');
          const want = chunkFor(chunk.seq);
          assert.equal(chunk.stream, want.stream, `stream of seq ${chunk.seq}`);
          assert.ok(chunk.data.equals(want.data), `bytes of seq ${chunk.seq}`);
          bytes += chunk.data.length;
          expectSeq += 1;
        }
      }
      const stored = expectSeq - 1;
      assert.ok(stored >= highest, `round ${round}: ${stored} chunks survived, ${highest} were reported committed`);
      // The accounting was committed with the chunks, so it survives (or vanishes) with them.
      assert.equal(store.jobs.get(jobId)?.logStoredBytes, bytes);
      t.diagnostic(`round ${round}: killed after ${reported.length} reports (${passes} checkpoint passes, ${holds} holds; ${sizes}); highest reported seq ${highest}, ${stored} chunks (${bytes} bytes) found intact`);
    } finally {
      store.close();
    }
  }
});
