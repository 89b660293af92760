// The daemon's log: one line per event on stderr, journald-friendly. Under systemd each line starts
// with a syslog priority prefix ("<6>") that journald turns into the entry's level; on a terminal the
// level is written as a word. Values are key=value with quoting, never raw user bytes (no secrets:
// env values and keys are never passed here).

/** Log levels, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** One log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, info: 6, debug: 7 };

/** Writes leveled log lines. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/** A logger writing to stream at or above level; `journald` selects the "<N>" prefix form. */
export function createLogger(level: LogLevel, options: { journald: boolean; write?: (line: string) => void }): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LOG_LEVELS.indexOf(lvl) > threshold) return;
    const prefix = options.journald ? `<${PRIORITY[lvl]}>` : `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} `;
    write(`${prefix}${sanitize(message)}${formatFields(fields)}\n`);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
  };
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out += ` ${key}=${/^[\w./:@-]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return out;
}

// One event must stay one line, and a job name must not smuggle terminal escapes into a log viewer.
function sanitize(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
