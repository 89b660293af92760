// The selected job: a title rule, its details (command, cwd, limits, usage history) and the live
// tail of its output.
import { Box, Text } from 'ink';
import { displayCommand, safeText, statusText } from '../../display/format.ts';
import { formatBytes } from '../../rpc/parse-size.ts';
import type { FollowState } from '../live/log-follower.ts';
import { cpuText, jobTitle, limitsText } from '../model/job-text.ts';
import type { LogLine } from '../model/log-line.ts';
import { sparkline } from '../model/sparkline.ts';
import type { JobView } from '../model/top-store.ts';
import type { StreamChoice } from '../model/view-state.ts';
import { stateColor } from './JobTable.tsx';
import { LogLines } from './LogLines.tsx';

/** Props of JobPane. */
export interface JobPaneProps {
  view: JobView | null;
  lines: readonly LogLine[];
  follow: FollowState | null;
  streams: StreamChoice;
  width: number;
  /** Detail rows and log rows. */
  details: number;
  logRows: number;
}

const STREAMS: Record<StreamChoice, string> = { both: 'stdout+stderr', stdout: 'stdout only', stderr: 'stderr only' };
const FOLLOW: Record<FollowState, string> = {
  starting: 'loading…',
  following: 'following',
  ended: 'end of output',
  waiting: 'waiting for the daemon…',
  failed: 'cannot read output',
};

/** A title rule: "── text ───────". */
export function Rule({ text, width, color }: { text: string; width: number; color?: string }) {
  const fill = Math.max(0, width - text.length - 4);
  return (
    <Text wrap="truncate-end" {...(color ? { color } : {})}>
      ── {text} {'─'.repeat(fill)}
    </Text>
  );
}

/** The pane. */
export function JobPane({ view, lines, follow, streams, width, details, logRows }: JobPaneProps) {
  if (!view) {
    return (
      <Box flexDirection="column" height={1 + details + logRows}>
        <Rule text="no job selected" width={width} />
        <Text dimColor>{'  '}Start a job with: jobctl run -- COMMAND</Text>
      </Box>
    );
  }
  const { job, usage } = view;
  const title = `job ${job.id} · ${jobTitle(job)} · ${STREAMS[streams]}${follow ? ` · ${FOLLOW[follow]}` : ''}`;
  const memory = job.state === 'running' ? job.usage.memoryBytes : job.usage.memoryPeakBytes;
  return (
    <Box flexDirection="column" height={1 + details + logRows}>
      <Rule text={title} width={width} />
      <Box flexDirection="column" height={details}>
        <Text wrap="truncate-end">
          <Text dimColor>cmd </Text> {displayCommand(job.argv)}
        </Text>
        <Text wrap="truncate-end">
          <Text dimColor>cwd </Text> {safeText(job.cwd)}
          <Text dimColor> · limits </Text>
          {limitsText(job.limits)}
        </Text>
        <Text wrap="truncate-end">
          <Text color={stateColor(job)}>{statusText(job)}</Text>
          {job.state === 'running' ? (
            <Text>
              <Text dimColor> · cpu </Text>
              <Text color="cyan">{sparkline(usage.cpu, 16, 100).padEnd(1)}</Text> {cpuText(view)}
              <Text dimColor> · mem </Text>
              <Text color="magenta">{sparkline(usage.memory, 16, job.limits.memory)}</Text> {memory === null ? '-' : formatBytes(memory)}
            </Text>
          ) : (
            <Text>
              <Text dimColor> · peak mem </Text>
              {memory === null ? '-' : formatBytes(memory)}
            </Text>
          )}
          <Text dimColor> · owner </Text>
          {safeText(job.owner)}
        </Text>
      </Box>
      <LogLines lines={lines} width={width} height={logRows} empty={follow === 'ended' ? 'no output' : 'no output yet'} />
    </Box>
  );
}
