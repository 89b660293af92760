// Feeds one log subscription to a WebSocket: replay, then live, as binary frames. Paced by the socket:
// when more than HIGH_WATER bytes of log frames (of all the socket's subscriptions together) are
// sent but not yet handed to the kernel, the pump waits before it sends the next frame and pulls
// nothing more from the store — a slow reader costs the daemon one page per subscription, never a
// backlog, and a client that reads steadily is never cut off for following many jobs at once.
import { TurnBudget, type LogItem } from '../store/index.ts';

/** How a pump delivers; implemented by the session over its socket. */
export interface PumpSink {
  /** Sends one binary frame (counted in the socket's send window); done() runs when the socket has taken it. */
  sendBinary(frame: Uint8Array, done: (err?: Error) => void): void;
  /** Sends a JSON event. */
  sendEvent(event: string, params: unknown): void;
  /** False once the socket is closing. */
  isOpen(): boolean;
  /** True while the socket's send window has room for a frame. */
  hasRoom(): boolean;
  /** Resolves when the socket's send window may have room again (or signal aborts, or the socket closes). */
  waitForRoom(signal: AbortSignal): Promise<void>;
}

/**
 * Bytes all pumps together send in one turn of the event loop; past it they continue on the next
 * turn. Without it, many followers of a fast job chain their sends through promises within one turn
 * (up to HIGH_WATER per socket: 100 followers on 100 sockets, 100 MiB of TLS), the jobs' pipes are read once per turn, and
 * the job itself is slowed (25× in the fan-out benchmark). With it, reading output comes first and
 * followers that fall behind catch up from the store.
 */
export const TURN_BUDGET = 1024 * 1024;

/** Shared by every pump of the daemon. */
const budget = new TurnBudget(TURN_BUDGET);

/** Runs a pump until the iterator ends, the socket closes or signal aborts; resolves with why it ended. */
export async function pumpLogs(
  items: AsyncIterator<LogItem>,
  encode: (item: Extract<LogItem, { kind: 'chunk' }>) => Uint8Array,
  sink: PumpSink,
  subscription: number,
  signal: AbortSignal,
): Promise<'finished' | 'unsubscribed' | 'closed'> {
  let sendError: Error | null = null;
  try {
    for (;;) {
      if (signal.aborted) return 'unsubscribed';
      if (!sink.isOpen() || sendError) return 'closed';
      // Over this turn's budget: the next turn (I/O is polled in between).
      if (budget.exhausted) await budget.available();
      if (signal.aborted) return 'unsubscribed';
      const next = await items.next();
      if (next.done) return 'finished';
      const item = next.value;
      if (item.kind === 'gap') {
        sink.sendEvent('logs.gap', { subscription, droppedBytes: item.droppedBytes, reason: item.reason, ...(item.upperBound ? { upperBound: true as const } : {}) });
        continue;
      }
      const frame = encode(item);
      // Checked and sent in one synchronous step: pumps woken together cannot all send at once.
      while (!sink.hasRoom()) {
        await sink.waitForRoom(signal);
        if (signal.aborted) return 'unsubscribed';
        if (!sink.isOpen() || sendError) return 'closed';
      }
      budget.spend(frame.byteLength);
      sink.sendBinary(frame, (err) => {
        if (err) sendError = err;
      });
    }
  } finally {
    await items.return?.();
  }
}
