// Requests over the frame limit. The spec wants an oversized request answered with a coded error
// (TOO_LARGE) the client can show, yet ws can only refuse a frame by closing the connection (1009),
// and a frame must never be buffered whatever its size. So there are two limits:
// - MAX_FRAME_BYTES (rpc/protocol.ts), ours: a frame over it but within HARD_FRAME_BYTES is read
//   (at most 1.5 MiB per connection at a time, as a 1 MiB frame is) and answered with TOO_LARGE,
//   carrying the request's id when the frame starts like a request (`{"t":"req","id":N,…`), so the
//   client can match the answer to its call;
// - HARD_FRAME_BYTES, given to ws as maxPayload: ws stops reading a bigger frame as soon as its
//   header announces the length and closes with 1009. Its close then carries a reason that starts
//   with the code, which the client shows ("connection to the daemon closed: TOO_LARGE: …").
import type { WebSocket } from 'ws';
import { MAX_FRAME_BYTES } from '../rpc/protocol.ts';

/** The largest frame ws reads at all; bigger ones close the connection (1009) unread. */
export const HARD_FRAME_BYTES = MAX_FRAME_BYTES + MAX_FRAME_BYTES / 2;

/** The reason of that close (a close reason holds at most 123 bytes). */
export const OVERSIZE_CLOSE_REASON = `TOO_LARGE: a frame over ${HARD_FRAME_BYTES} bytes was refused unread; requests may be up to ${MAX_FRAME_BYTES} bytes`;

/**
 * Makes ws's own 1009 close (a frame over maxPayload) say why. ws closes through the socket's
 * close() with the status code alone; this wraps that one instance's close() to add the reason
 * when none is given.
 */
export function explainOversizeClose(ws: WebSocket): void {
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => close(code, code === 1009 && reason === undefined ? OVERSIZE_CLOSE_REASON : reason);
}

/** How far into an oversized frame the id is looked for. */
const ID_SCAN_BYTES = 200;
// `{"t":"req","id":N` with either key first (a "method" may come before the id too); nothing parsed
// beyond the first ID_SCAN_BYTES.
const LEADING_ID = /^\s*\{(?:\s*"(?:t|method)"\s*:\s*"[^"\\]{0,100}"\s*,)*\s*"id"\s*:\s*([1-9][0-9]{0,15})\s*[,}]/;

/** The request id at the start of a frame too large to parse, or 0 when it cannot be read there. */
export function leadingRequestId(frame: Buffer): number {
  const m = LEADING_ID.exec(frame.subarray(0, ID_SCAN_BYTES).toString('latin1'));
  const id = m ? Number(m[1]) : 0;
  return Number.isSafeInteger(id) ? id : 0;
}
