import { useEffect, useState } from 'react';

/** A terminal's size. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

/** The size of stream's terminal, updated live on resize; the effect returns its unsubscribe. */
export function useTerminalSize(stream: NodeJS.WriteStream, onResize?: () => void): TerminalSize {
  const read = (): TerminalSize => ({ columns: stream.columns || 80, rows: stream.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const resized = () => {
      onResize?.();
      setSize(read());
    };
    stream.on('resize', resized);
    return () => {
      stream.off('resize', resized);
    };
    // read() only reads stream.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream, onResize]);
  return size;
}
