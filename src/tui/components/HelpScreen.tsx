// The key reference, with what the caller's role may not do.
import { Box, Text } from 'ink';
import type { Role } from '../../rpc/roles.ts';

/** Props of HelpScreen. */
export interface HelpScreenProps {
  role: Role | null;
  rows: number;
}

const KEYS: Array<[string, string]> = [
  ['↑ ↓  k j', 'select a job; in the log: scroll a line'],
  ['Enter', 'open the selected job’s log full-screen, following'],
  ['PgUp PgDn Home', 'in the log: scroll back through the whole output'],
  ['End', 'in the log: follow the newest output again'],
  ['Tab', 'show stdout and stderr, stdout only, stderr only'],
  ['s', 'stop the selected job (asks first): SIGTERM, then kill after the grace period'],
  ['/', 'filter jobs by name, command or owner (Enter keeps, Esc clears)'],
  ['a', 'every user’s jobs, or your own (admin and viewer)'],
  ['Esc', 'back to the job list'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit'],
];

/** The help screen. */
export function HelpScreen({ role, rows }: HelpScreenProps) {
  const notes: string[] = [];
  if (role === 'viewer') notes.push('Your role is viewer: you can watch every job but not stop any (s is greyed out).');
  if (role === 'user') notes.push('Your role is user: you see and stop your own jobs only (a is greyed out).');
  notes.push('Red lines with a ▌ bar are stderr. The list updates from daemon events; nothing is polled.');
  return (
    <Box flexDirection="column" height={rows} overflow="hidden">
      <Text bold>Keys</Text>
      {KEYS.map(([key, text]) => (
        <Text key={key} wrap="truncate-end">
          {'  '}
          <Text bold>{key.padEnd(16)}</Text>
          {text}
        </Text>
      ))}
      <Text> </Text>
      {notes.map((n) => (
        <Text key={n} wrap="wrap" dimColor>
          {n}
        </Text>
      ))}
    </Box>
  );
}
