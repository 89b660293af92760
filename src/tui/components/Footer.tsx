// The bottom row: the keys (unavailable ones greyed with the reason), or a prompt, or a message.
import { Box, Text } from 'ink';
import type { KeyHint } from '../model/hints.ts';
import type { Flash } from '../model/view-state.ts';

/** Props of Footer. */
export interface FooterProps {
  hints: readonly KeyHint[];
  flash: Flash | null;
  /** A prompt that takes the keys (filter input, stop confirmation); replaces the hints. */
  prompt: string | null;
  /** Keys cannot be used (stdin is not a terminal). */
  noInput: boolean;
}

const TONE: Record<Flash['tone'], string> = { info: 'green', warn: 'yellow', error: 'red' };

/** The footer. */
export function Footer({ hints, flash, prompt, noInput }: FooterProps) {
  if (prompt !== null) {
    return (
      <Text wrap="truncate-start" color="yellow">
        {prompt}
      </Text>
    );
  }
  return (
    <Box>
      <Box flexGrow={1} flexShrink={1}>
        {flash ? (
          <Text wrap="truncate-end" color={TONE[flash.tone]}>
            {flash.text}
          </Text>
        ) : noInput ? (
          <Text dimColor wrap="truncate-end">
            input is not a terminal: keys are off; Ctrl-C quits
          </Text>
        ) : (
          <Text wrap="truncate-end">
            {hints.map((h, i) => (
              <Text key={h.key} dimColor={h.disabled !== null}>
                {i > 0 ? '  ' : ''}
                <Text bold={h.disabled === null} dimColor={h.disabled !== null}>
                  {h.key}
                </Text>{' '}
                {h.label}
                {h.disabled !== null ? ` (${h.disabled})` : ''}
              </Text>
            ))}
          </Text>
        )}
      </Box>
      <Box flexShrink={0} marginLeft={2}>
        <Text>
          <Text bold>?</Text> help  <Text bold>q</Text> quit
        </Text>
      </Box>
    </Box>
  );
}
