// `logs --tail N`: where the last N lines start. The store finds the chunk to begin at (reading
// backwards in pages); this finds the byte within it, so the client gets exactly N lines.
import type { StreamId } from '../rpc/model.ts';
import type { LogStore } from '../store/index.ts';

/** The sequence to read after, and how many bytes of what follows to skip, for the last `lines` lines. */
export function tailStart(logs: LogStore, jobId: number, lines: number, streams: StreamId[] | undefined): { afterSeq: number; skipBytes: number } {
  const afterSeq = logs.tailSeq(jobId, lines, streams);
  const sizes: number[] = [];
  const newlineEnds: number[] = []; // absolute offsets just after each '\n'
  let offset = 0;
  let lastByte = -1;
  let seq = afterSeq;
  for (;;) {
    const page = logs.read(jobId, { afterSeq: seq, limit: 256, maxBytes: 4 * 1024 * 1024, streams });
    if (page.length === 0) break;
    for (const chunk of page) {
      for (let i = chunk.data.indexOf(10); i !== -1; i = chunk.data.indexOf(10, i + 1)) newlineEnds.push(offset + i + 1);
      offset += chunk.data.length;
      sizes.push(chunk.data.length);
      if (chunk.data.length > 0) lastByte = chunk.data[chunk.data.length - 1] as number;
    }
    seq = page[page.length - 1]!.seq;
  }
  return { afterSeq, skipBytes: skipForLastLines(newlineEnds, offset, lastByte === 10, lines) };
}

/** Pure: bytes to skip of a text of `total` bytes with newlines ending at newlineEnds, to keep `lines` lines. */
export function skipForLastLines(newlineEnds: number[], total: number, endsWithNewline: boolean, lines: number): number {
  if (total === 0) return 0;
  // A final line without '\n' counts as a line, as tail(1) counts it.
  const boundaries = endsWithNewline ? newlineEnds.slice(0, -1) : newlineEnds;
  if (boundaries.length < lines) return 0;
  return boundaries[boundaries.length - lines] as number;
}
