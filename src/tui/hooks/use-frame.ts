import { useEffect, useState } from 'react';

/** A change source: calls the listener on change, returns the unsubscribe function. */
export type Subscribe = (listener: () => void) => () => void;

/**
 * A frame counter that advances when any source reports a change, at most once per intervalMs: all
 * data-driven redraws (job events, a flooding log tail, history pages) share one bounded frame rate.
 * Pass the same number of sources on every render. The effect returns its unsubscribe.
 */
export function useFrame(intervalMs: number, ...sources: Array<Subscribe | null>): number {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    let timer: NodeJS.Timeout | null = null;
    let last = 0;
    const tick = () => {
      timer = null;
      last = performance.now();
      setFrame((f) => f + 1);
    };
    const changed = () => {
      if (timer) return;
      timer = setTimeout(tick, Math.max(0, last + intervalMs - performance.now()));
    };
    const offs = sources.map((subscribe) => subscribe?.(changed));
    return () => {
      for (const off of offs) off?.();
      if (timer) clearTimeout(timer);
    };
    // The sources themselves are the dependencies.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [intervalMs, ...sources]);
  return frame;
}
