// A line of a job's output as the terminal UI holds it.

/** 1 stdout, 2 stderr, 0 a note from jobctl itself (dropped output, skipped ahead, errors). */
export type LineKind = 0 | 1 | 2;

/** One display-ready line (already made safe by displayLine). */
export interface LogLine {
  kind: LineKind;
  text: string;
  /** Where the line starts in the job's output: the chunk's seq (0 for notes) and the byte offset in it. */
  seq: number;
  offset: number;
}

/** A note line (not job output). */
export function noteLine(text: string): LogLine {
  return { kind: 0, text, seq: 0, offset: 0 };
}

/** -1, 0 or 1 as the start of a comes before, at or after the start of b (notes compare as equal). */
export function compareStart(a: Pick<LogLine, 'seq' | 'offset'>, b: Pick<LogLine, 'seq' | 'offset'>): number {
  return a.seq !== b.seq ? Math.sign(a.seq - b.seq) : Math.sign(a.offset - b.offset);
}
