// Shown instead of the UI when the terminal is smaller than it can be drawn in.
import { Text } from 'ink';
import { MIN_COLUMNS, MIN_ROWS } from '../model/layout.ts';

/** The message. */
export function TooSmall({ columns, rows }: { columns: number; rows: number }) {
  return (
    <Text wrap="wrap">
      The terminal is {columns}×{rows}; jobctl top needs at least {MIN_COLUMNS}×{MIN_ROWS} (80×24 recommended). Enlarge it, or press q to quit.
    </Text>
  );
}
