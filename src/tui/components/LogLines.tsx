// Rows of job output: stderr marked (red bar and text), jobctl's own notes dimmed. Each line takes
// one row, cut at the edge; text is already made safe (displayLine).
import { Box, Text } from 'ink';
import type { LogLine } from '../model/log-line.ts';

/** Props of LogLines. */
export interface LogLinesProps {
  lines: readonly LogLine[];
  width: number;
  height: number;
  /** Shown when there are no lines. */
  empty?: string;
}

/** The rows, from the top. */
export function LogLines({ lines, width, height, empty }: LogLinesProps) {
  const shown = lines.slice(-height);
  // Ink measures every character it is given: hand it no more than a row can show.
  const room = Math.max(1, width - 2) * 2;
  return (
    <Box flexDirection="column" height={height} justifyContent={shown.length === 0 ? 'center' : 'flex-start'}>
      {shown.length === 0 && empty ? (
        <Text dimColor wrap="truncate-end">
          {'  '}
          {empty}
        </Text>
      ) : null}
      {shown.map((line, i) => (
        <Text key={i} wrap="truncate-end" {...(line.kind === 2 ? { color: 'red' } : line.kind === 0 ? { color: 'yellow', dimColor: true } : {})}>
          {line.kind === 2 ? '▌' : ' '} {line.text.length > room ? line.text.slice(0, room) : line.text}
        </Text>
      ))}
    </Box>
  );
}
