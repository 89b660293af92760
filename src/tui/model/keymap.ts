// Which command a key press means, given what has the keys. Pure (Ink's Key in, a command out).
import type { Key } from 'ink';
import type { Overlay } from './view-state.ts';

/** What a key asks for. */
export type Command =
  | { type: 'quit' }
  | { type: 'move'; by: 'line' | 'page' | 'end'; delta: -1 | 1 }
  | { type: 'open' }
  | { type: 'back' }
  | { type: 'stop' }
  | { type: 'filter' }
  | { type: 'all' }
  | { type: 'streams' }
  | { type: 'help' }
  | { type: 'yes' }
  | { type: 'no' }
  | { type: 'type'; text: string }
  | { type: 'erase' }
  | { type: 'accept' }
  | { type: 'cancel' };

/** The command for a key press, or null when the key means nothing here. */
export function commandFor(input: string, key: Partial<Key>, overlay: Overlay): Command | null {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  switch (overlay) {
    case 'filter':
      if (key.return) return { type: 'accept' };
      if (key.escape) return { type: 'cancel' };
      if (key.backspace || key.delete) return { type: 'erase' };
      if (key.ctrl || key.meta || key.tab || isNavigation(key)) return null;
      return input.length > 0 ? { type: 'type', text: printable(input) } : null;
    case 'confirm-stop':
      return input === 'y' || input === 'Y' ? { type: 'yes' } : { type: 'no' };
    case 'help':
      return input === 'q' ? { type: 'quit' } : { type: 'back' };
    case null:
      break;
  }
  if (input === 'q') return { type: 'quit' };
  if (key.upArrow || input === 'k') return { type: 'move', by: 'line', delta: -1 };
  if (key.downArrow || input === 'j') return { type: 'move', by: 'line', delta: 1 };
  if (key.pageUp) return { type: 'move', by: 'page', delta: -1 };
  if (key.pageDown || input === ' ') return { type: 'move', by: 'page', delta: 1 };
  if (key.home || input === 'g') return { type: 'move', by: 'end', delta: -1 };
  if (key.end || input === 'G') return { type: 'move', by: 'end', delta: 1 };
  if (key.return) return { type: 'open' };
  if (key.escape || key.backspace || key.leftArrow) return { type: 'back' };
  if (key.tab) return { type: 'streams' };
  if (input === 's') return { type: 'stop' };
  if (input === '/') return { type: 'filter' };
  if (input === 'a') return { type: 'all' };
  if (input === '?' || input === 'h') return { type: 'help' };
  return null;
}

function isNavigation(key: Partial<Key>): boolean {
  return Boolean(key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown || key.home || key.end);
}

// Pasted or typed text without control characters.
function printable(input: string): string {
  // eslint-disable-next-line no-control-regex
  return input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}
