// The top two rows: where we are connected, as whom, the link's state, and job counts by state.
import { Box, Text } from 'ink';
import { safeText } from '../../display/format.ts';
import { JOB_STATES } from '../../rpc/model.ts';
import type { TopSnapshot } from '../model/top-store.ts';

/** Props of Header. */
export interface HeaderProps {
  snapshot: TopSnapshot;
  now: number;
  /** Jobs shown after the filter, and the filter. */
  shown: number;
  filter: string;
}

/** The header. */
export function Header({ snapshot, now, shown, filter }: HeaderProps) {
  const who = snapshot.user ? `${safeText(snapshot.user)} (${snapshot.role})` : '…';
  return (
    <Box flexDirection="column">
      <Box>
        <Box flexGrow={1} flexShrink={1}>
          <Text wrap="truncate-end">
            <Text bold>jobctl top</Text>
            <Text dimColor> · </Text>
            <Text>{snapshot.endpoint ? safeText(snapshot.endpoint) : 'connecting…'}</Text>
            <Text dimColor> · </Text>
            <Text>{who}</Text>
            <Text dimColor> · </Text>
            <Text>{snapshot.all ? 'all users' : 'own jobs'}</Text>
          </Text>
        </Box>
        <Box flexShrink={0} marginLeft={1}>
          <LinkBadge link={snapshot.link} now={now} />
        </Box>
      </Box>
      <Box>
        <Text wrap="truncate-end">
          {JOB_STATES.map((state, i) => (
            <Text key={state}>
              {i > 0 ? '  ' : ''}
              <Text bold={snapshot.counts[state] > 0}>{snapshot.counts[state]}</Text> {state}
            </Text>
          ))}
          {filter ? (
            <Text>
              <Text dimColor> · </Text>
              <Text color="yellow">filter “{safeText(filter)}”</Text>
              <Text dimColor>: {shown} shown</Text>
            </Text>
          ) : null}
        </Text>
      </Box>
    </Box>
  );
}

function LinkBadge({ link, now }: { link: TopSnapshot['link']; now: number }) {
  switch (link.kind) {
    case 'live':
      return <Text color="green">● live</Text>;
    case 'connecting':
      return <Text color="yellow">○ connecting…</Text>;
    case 'lost': {
      const retry = link.retryAt === null ? 'reconnecting…' : `retry in ${Math.max(0, Math.ceil((link.retryAt - now) / 1000))}s`;
      return (
        <Text color="red" wrap="truncate-end">
          ✕ connection lost ({retry}, attempt {link.attempt})
        </Text>
      );
    }
  }
}
