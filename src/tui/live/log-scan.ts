// Reads a stretch of stored output on demand: a logs.subscribe with afterSeq and follow:false, read
// until the visitor has enough, then unsubscribed. This is how history is paged without holding it.
import type { StreamId } from '../../rpc/model.ts';
import type { LogSource, LogsParams } from './types.ts';

/** Called per chunk; return false to stop reading. */
export type ChunkVisitor = (stream: StreamId, data: Buffer, seq: number) => boolean;

/** How a scan ended: "end" when all stored output after afterSeq was read, "stopped" when the visitor stopped it. */
export type ScanEnd = 'end' | 'stopped';

/** Reads chunks after afterSeq until visit returns false or the stored output ends. onGap hears of dropped output. */
export async function scanLog(
  source: LogSource,
  params: { id: number; afterSeq: number; streams: LogsParams['streams'] },
  visit: ChunkVisitor,
  onGap?: (droppedBytes: number, reason: string) => void,
): Promise<ScanEnd> {
  let stopped = false;
  let stop!: () => void;
  const whenStopped = new Promise<ScanEnd>((resolve) => (stop = () => resolve('stopped')));
  let close: (() => void) | null = null;
  const stream = await source.open(
    { id: params.id, afterSeq: params.afterSeq, follow: false, ...(params.streams ? { streams: params.streams } : {}) },
    {
      onChunk(s, data, seq) {
        if (stopped) return;
        if (!visit(s, data, seq)) {
          stopped = true;
          close?.();
          stop();
        }
      },
      onGap(droppedBytes, reason) {
        if (!stopped) onGap?.(droppedBytes, reason);
      },
    },
  );
  close = () => stream.close();
  if (stopped) stream.close();
  return Promise.race([whenStopped, stream.done.then((): ScanEnd => (stopped ? 'stopped' : 'end'))]);
}
