import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStore } from '../../src/store/index.ts';
import { chunkFor } from './crash-data.ts';
import { tempDir, within } from './helpers.ts';

const fixture = fileURLToPath(new URL('./crash-writer.fixture.js', import.meta.url));

/** Runs the crash writer until it has reported `atLeast` commits, then SIGKILLs it mid-stream. */
async function writeAndKill(file: string, atLeast: number): Promise<{ jobId: number; reported: number[] }> {
  const child = spawn(process.execPath, [fixture, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let jobId = 0;
  const reported: number[] = [];
  let buffered = '';
  try {
    await within(30_000, `${atLeast} commits reported by the crash writer`, new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? ''; // a line still being written
        for (const line of lines) {
          if (line.startsWith('job ')) jobId = Number(line.slice(4));
          else reported.push(Number(line));
        }
        if (reported.length >= atLeast) {
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
  return { jobId, reported };
}

test('SIGKILL mid-stream: the file is intact and every reported commit is there, byte for byte', async (t) => {
  const dir = tempDir(t);
  // A few kill points: early, and after the first large chunks and WAL checkpoints.
  for (const [round, atLeast] of [[1, 40], [2, 300], [3, 1200]] as const) {
    const file = join(dir, `crash-${round}.db`);
    const { jobId, reported } = await writeAndKill(file, atLeast);
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
      t.diagnostic(`round ${round}: killed after ${reported.length} reports; highest reported seq ${highest}, ${stored} chunks (${bytes} bytes) found intact`);
    } finally {
      store.close();
    }
  }
});
