// The footer's key hints, each with why it is unavailable when it is (a viewer sees the controls it
// may not use, greyed, with the reason).
import type { JobInfo } from '../../rpc/model.ts';
import type { Role } from '../../rpc/roles.ts';
import type { Screen, StreamChoice } from './view-state.ts';

/** One key hint. */
export interface KeyHint {
  key: string;
  label: string;
  /** Why the key cannot be used now; null when it can. */
  disabled: string | null;
}

/** Who is looking and at what. */
export interface HintContext {
  screen: Screen;
  role: Role | null;
  user: string | null;
  job: Pick<JobInfo, 'state' | 'owner'> | null;
  streams: StreamChoice;
  all: boolean;
  following: boolean;
}

const STREAM_LABEL: Record<StreamChoice, string> = { both: 'stdout+stderr', stdout: 'stdout', stderr: 'stderr' };

/** Why the stop key is unavailable, or null. */
export function stopDisabled(ctx: Pick<HintContext, 'role' | 'user' | 'job'>): string | null {
  if (ctx.role === 'viewer') return 'viewer: read-only';
  if (ctx.job === null) return 'no job selected';
  if (ctx.role === 'user' && ctx.job.owner !== ctx.user) return 'not your job';
  if (ctx.job.state !== 'running') return 'not running';
  return null;
}

/** Why the all-users key is unavailable, or null. */
export function allDisabled(ctx: Pick<HintContext, 'role'>): string | null {
  return ctx.role === 'user' ? 'admin or viewer only' : null;
}

/** The hints for the screen, most used first. */
export function keyHints(ctx: HintContext): KeyHint[] {
  const stop: KeyHint = { key: 's', label: 'stop', disabled: stopDisabled(ctx) };
  const streams: KeyHint = { key: '⇥', label: STREAM_LABEL[ctx.streams], disabled: null };
  if (ctx.screen === 'log') {
    return [
      { key: 'PgUp/PgDn/Home', label: 'scroll', disabled: null },
      { key: 'End', label: ctx.following ? 'following' : 'follow', disabled: null },
      streams,
      stop,
      { key: 'Esc', label: 'back', disabled: null },
    ];
  }
  return [
    { key: '↑↓', label: 'select', disabled: null },
    { key: '⏎', label: 'log', disabled: null },
    stop,
    { key: '/', label: 'filter', disabled: null },
    { key: 'a', label: ctx.all ? 'mine' : 'all users', disabled: allDisabled(ctx) },
    streams,
  ];
}
