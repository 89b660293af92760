// Giving freed pages back to the file system in bounded steps. `PRAGMA incremental_vacuum` with no
// count moves every page it can in one transaction: for 1.2 GB of deleted jobs that blocked the
// event loop for 0.54 s and grew the WAL by 572 MB before the file shrank. A step here moves a few
// pages, commits, and lets the event loop (and the checkpoint worker) run before the next one.
import type Database from 'better-sqlite3';
import type { CommitGate } from './commit-gate.ts';

/**
 * Pages returned per step: 16 pages of 64 KiB is 1 MiB moved, ≈ 1 ms of work, and a WAL growth the
 * checkpoint worker copies long before it matters.
 */
export const VACUUM_STEP_PAGES = 16;

/** What a stepped vacuum needs from the store. */
export interface VacuumContext {
  /** Told the WAL bytes each step wrote, as log commits are: the checkpointer asks its worker for passes. */
  afterCommit(bytes: number): void;
  /** Held while the checkpointer lets the WAL start over: steps wait, as log writers do. */
  gate: CommitGate;
}

/** What a stepped vacuum did. */
export interface VacuumResult {
  /** Pages the file lost. */
  pages: number;
  steps: number;
  /** The longest step, in ms: how long it blocked the event loop at most. */
  longestStepMs: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Returns up to the pages free now (freelist_count) to the file system, VACUUM_STEP_PAGES per
 * transaction, one step per turn of the event loop. Pages freed meanwhile by others (the cap of a
 * live job) are left for the next pass: writers reuse them anyway, and the loop must end. Stops
 * quietly when the database closes.
 */
export async function vacuumInSteps(db: Database.Database, ctx: VacuumContext): Promise<VacuumResult> {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  let left = db.pragma('freelist_count', { simple: true }) as number;
  const result: VacuumResult = { pages: 0, steps: 0, longestStepMs: 0 };
  while (left > 0) {
    await nextTurn();
    // The checkpointer holds commits so that the WAL can start over: a step now would add frames
    // the pass cannot have copied, and the WAL would keep growing.
    while (ctx.gate.held) await new Promise<void>((resolve) => ctx.gate.whenOpen(resolve));
    if (!db.open) break;
    const t0 = performance.now();
    const before = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`incremental_vacuum(${Math.min(VACUUM_STEP_PAGES, left)})`);
    const freed = before - (db.pragma('page_count', { simple: true }) as number);
    result.longestStepMs = Math.max(result.longestStepMs, performance.now() - t0);
    result.steps++;
    // Others took the free pages (a writer's inserts): nothing left to return.
    if (freed <= 0) break;
    result.pages += freed;
    left -= freed;
    // Each page moved writes itself and the page that points at it (parent or pointer map): an
    // estimate, which is all the checkpointer needs to pace its passes.
    ctx.afterCommit(2 * freed * pageSize);
  }
  return result;
}

/** How long the final truncation waits for the checkpoint worker's pass to end before it gives up. */
const TRUNCATE_TRIES = 20;
const TRUNCATE_RETRY_MS = 5;

/**
 * Copies the WAL into the database file and truncates both (the file only shrinks then). SQLite
 * answers "busy" at once, without its busy handler, while another connection checkpoints — the
 * store's checkpoint worker does so often during output — so a busy answer is retried for a moment,
 * on timers (the event loop goes on). Still busy: the worker's next complete pass finishes it. The
 * steps above keep the WAL small, so this copy is short.
 */
export async function truncateWal(db: Database.Database): Promise<void> {
  for (let i = 0; i < TRUNCATE_TRIES; i++) {
    if (!db.open) return;
    const row = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    if (row[0]?.busy === 0) return;
    await new Promise((resolve) => setTimeout(resolve, TRUNCATE_RETRY_MS));
  }
}
