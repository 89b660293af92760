// The full-screen log: a title with where the view is (following, or scrolled back through history),
// then the rows.
import { Box } from 'ink';
import type { FollowState } from '../live/log-follower.ts';
import type { PagerView } from '../live/log-pager.ts';
import { jobTitle } from '../model/job-text.ts';
import type { LogLine } from '../model/log-line.ts';
import type { JobView } from '../model/top-store.ts';
import type { StreamChoice } from '../model/view-state.ts';
import { Rule } from './JobPane.tsx';
import { LogLines } from './LogLines.tsx';

/** Props of LogScreen. */
export interface LogScreenProps {
  view: JobView | null;
  jobId: number;
  /** Following: the tail's lines; scrolled: the pager's view. */
  follow: { state: FollowState | null; lines: readonly LogLine[] } | null;
  pager: PagerView | null;
  streams: StreamChoice;
  width: number;
  rows: number;
}

const STREAMS: Record<StreamChoice, string> = { both: 'stdout+stderr', stdout: 'stdout only', stderr: 'stderr only' };

/** The screen. */
export function LogScreen({ view, jobId, follow, pager, streams, width, rows }: LogScreenProps) {
  const name = view ? `job ${jobId} · ${jobTitle(view.job)} · ${view.job.state}` : `job ${jobId}`;
  let where: string;
  if (pager) {
    where = pager.error ? `error: ${pager.error}` : pager.loading ? 'reading…' : pager.atTop ? 'top of output' : pager.atBottom ? 'end of stored output (End follows)' : 'scrolled back (End follows)';
  } else {
    where = follow?.state === 'ended' ? 'end of output' : follow?.state === 'waiting' ? 'waiting for the daemon…' : 'following';
  }
  const lines = pager ? pager.lines : (follow?.lines ?? []);
  return (
    <Box flexDirection="column" height={rows + 1}>
      <Rule text={`${name} · ${STREAMS[streams]} · ${where}`} width={width} color={pager ? 'yellow' : undefined} />
      <LogLines lines={lines} width={width} height={rows} empty={follow?.state === 'starting' ? 'loading…' : 'no output'} />
    </Box>
  );
}
