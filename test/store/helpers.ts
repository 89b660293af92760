// Shared by the store tests: temp databases that clean up after themselves, a job to write to, and
// deadline-bound waiting (no fixed sleeps).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { COMMIT_INTERVAL_MS, openStore, type Store, type StoreOptions } from '../../src/store/index.ts';
import type { JobRow, LogItem, NewJob } from '../../src/store/index.ts';

/** A temp directory removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh store in a temp directory, closed (before the directory goes) when the test ends. */
export function tempStore(t: TestContext, options?: StoreOptions): { store: Store; file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-store-'));
  const file = join(dir, 'jobctl.db');
  let store: Store;
  try {
    store = openStore(file, options);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, file, dir };
}

/** A plausible new job. */
export function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    owner: 'alice',
    name: null,
    argv: ['make', 'test'],
    cwd: '/tmp',
    env: { PATH: '/usr/bin:/bin', HOME: '/home/alice' },
    limits: { memory: 256 * 1024 * 1024 },
    createdAt: 1_700_000_000_000,
    ...over,
  };
}

/** Inserts a job and returns its row. */
export function addJob(store: Store, over: Partial<NewJob> = {}): JobRow {
  return store.jobs.insert(newJob(over));
}

/** Rejects if the promise does not settle within ms. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls (on the event loop, yielding between tries) until check() is true or the deadline passes. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Until a writer's queued commit has run: the next turn of the event loop, or the end of the commit
 * interval when the writer committed just before (COMMIT_INTERVAL_MS).
 */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setTimeout(() => setImmediate(r), COMMIT_INTERVAL_MS + 1));
}

/** Drains a follower into a list. */
export async function collect(items: AsyncIterable<LogItem>): Promise<LogItem[]> {
  const out: LogItem[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The bytes of the chunk items, concatenated. */
export function chunkBytes(items: LogItem[]): Buffer {
  return Buffer.concat(items.flatMap((i) => (i.kind === 'chunk' ? [i.chunk.data] : [])));
}

/**
 * Counts log commits: every commit updates the job row's log accounting exactly once, so a temp
 * trigger on that update counts transactions without touching the store's code.
 */
export function commitCounter(store: Store): () => number {
  store.db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS test_commits (n INTEGER NOT NULL);
    INSERT INTO test_commits VALUES (0);
    CREATE TEMP TRIGGER IF NOT EXISTS test_count_commits AFTER UPDATE OF log_stored_bytes ON main.jobs
    BEGIN UPDATE test_commits SET n = n + 1; END;
  `);
  const read = store.db.prepare<[], { n: number }>('SELECT n FROM test_commits');
  return () => read.get()?.n ?? 0;
}

/**
 * A full garbage collection, to measure what is retained rather than what awaits collection. The
 * test runner's command line has no --expose-gc, so the flag is set at run time and `gc` taken
 * from a fresh context (where V8 installs it).
 */
export function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
