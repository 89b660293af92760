// The crash test's data: every chunk's stream and bytes follow from its seq alone, so what survives
// a SIGKILL can be checked byte for byte without the writer's help.
import type { StreamId } from '../../src/rpc/model.ts';

/** The stream and bytes the crash writer appends as chunk `seq` (streams alternate: one chunk each). */
export function chunkFor(seq: number): { stream: StreamId; data: Buffer } {
  // Mostly small, every 50th large (several pages, overflow chains) to make commits take a while.
  const length = seq % 50 === 0 ? 200_000 + (seq % 7) * 1000 : 1 + ((seq * 7919) % 6000);
  const data = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) data[i] = (seq * 31 + i * 7 + (i >> 8)) & 0xff;
  return { stream: seq % 2 === 1 ? 1 : 2, data };
}
