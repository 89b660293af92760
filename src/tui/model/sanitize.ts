// Job output made safe and plain for the screen. Output is untrusted: escape sequences in it could
// move the cursor, retitle the window or rewrite the clipboard, so they are removed; what a terminal
// would do with carriage returns and tabs is imitated; any other control character is shown escaped.
import { safeText } from '../../display/format.ts';

// CSI (ESC [ … final), OSC (ESC ] … BEL or ST), DCS/SOS/PM/APC strings, and two-byte ESC sequences.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b[\]PX^_][\s\S]*?(?:\u0007|\u001b\\|$)|\u001b[ -/]*[0-~]|\u009b[0-?]*[ -/]*[@-~]/g;

/** Columns a tab advances to (the next multiple of). */
const TAB_STOP = 8;

/** One line of job output (without its newline) as it may be shown. */
export function displayLine(text: string): string {
  let line = text.includes('\u001b') || text.includes('\u009b') ? text.replace(ESCAPES, '') : text;
  if (line.endsWith('\r')) line = line.slice(0, -1); // CRLF
  const cr = line.lastIndexOf('\r');
  if (cr !== -1) line = line.slice(cr + 1); // a progress bar redraws the line: show its last state
  if (line.includes('\t')) line = expandTabs(line);
  return safeText(line);
}

function expandTabs(line: string): string {
  let out = '';
  for (const ch of line) {
    if (ch === '\t') out += ' '.repeat(TAB_STOP - (out.length % TAB_STOP));
    else out += ch;
  }
  return out;
}
