// Writes a job's output as `jobctl logs` promises: raw bytes (stdout → stdout, stderr → stderr),
// or with --timestamps each line prefixed by the time its chunk was captured, or with --json one
// object per chunk. Backpressure from the terminal or pipe flows back to the daemon.
import type { LogSink } from '../client/connection.ts';
import type { StreamId } from '../rpc/model.ts';
import { formatBytes } from '../rpc/parse-size.ts';
import { write } from './io.ts';

/** How to render output. */
export type LogFormat = 'raw' | 'timestamps' | 'json';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A sink that writes chunks to this process's stdout/stderr in format. */
export function logSink(format: LogFormat): LogSink {
  const atLineStart: Record<StreamId, boolean> = { 1: true, 2: true };
  const target = (stream: StreamId) => (stream === 1 ? process.stdout : process.stderr);
  return {
    onChunk(stream, data, seq, time) {
      if (format === 'raw') return write(target(stream), data);
      if (format === 'json') {
        let text: string | null = null;
        try {
          text = utf8.decode(data);
        } catch {
          text = null; // not UTF-8: sent as base64 so no byte is lost
        }
        const obj = text === null
          ? { stream: stream === 1 ? 'stdout' : 'stderr', time: new Date(time).toISOString(), seq, encoding: 'base64', data: data.toString('base64') }
          : { stream: stream === 1 ? 'stdout' : 'stderr', time: new Date(time).toISOString(), seq, data: text };
        return write(process.stdout, `${JSON.stringify(obj)}\n`);
      }
      const stamp = Buffer.from(`${new Date(time).toISOString()} `);
      const parts: Buffer[] = [];
      let start = 0;
      while (start < data.length) {
        if (atLineStart[stream]) parts.push(stamp);
        const nl = data.indexOf(10, start);
        const end = nl === -1 ? data.length : nl + 1;
        parts.push(data.subarray(start, end));
        atLineStart[stream] = nl !== -1;
        start = end;
      }
      return write(target(stream), Buffer.concat(parts));
    },
    onGap(droppedBytes, reason, upperBound) {
      const message = `[jobctl] ${upperBound ? 'up to ' : ''}${formatBytes(droppedBytes)} of earlier output was dropped (${reason})`;
      if (format === 'json') void write(process.stdout, `${JSON.stringify({ gap: { droppedBytes, reason, ...(upperBound ? { upperBound } : {}) } })}\n`);
      else void write(process.stderr, `${message}\n`);
    },
  };
}
