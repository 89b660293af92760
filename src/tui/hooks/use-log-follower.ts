import { useEffect, useState } from 'react';
import { LogFollower } from '../live/log-follower.ts';
import type { LogSource } from '../live/types.ts';
import type { StreamChoice } from '../model/view-state.ts';

/** Lines the live tail keeps (more than any screen shows). */
export const TAIL_LINES = 256;

/** Selection changes within this time start one subscription, not one per row passed. */
const START_DELAY_MS = 80;

/**
 * Follows the job's output while jobId and streams stay the same (null: nothing). The effect
 * returns the follower's stop, which unsubscribes.
 */
export function useLogFollower(source: LogSource, jobId: number | null, streams: StreamChoice, paused: boolean): LogFollower | null {
  const [follower, setFollower] = useState<LogFollower | null>(null);
  useEffect(() => {
    if (jobId === null || paused) {
      setFollower(null);
      return undefined;
    }
    const next = new LogFollower(source, { jobId, streams, capacity: TAIL_LINES });
    const timer = setTimeout(() => next.start(), START_DELAY_MS);
    setFollower(next);
    return () => {
      clearTimeout(timer);
      next.stop();
    };
  }, [source, jobId, streams, paused]);
  return follower;
}
