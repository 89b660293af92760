// The keys of `jobctl top`: what each does on each screen and under each prompt. Keys can arrive
// faster than renders (typing ahead, a paste), so everything a key reads comes from refs and the store
// at the moment it arrives, never from the last render.
import { useInput, type Key } from 'ink';
import { useCallback, type RefObject } from 'react';
import { statusText } from '../../display/format.ts';
import { isJobctlError } from '../../rpc/errors.ts';
import type { LogFollower } from '../live/log-follower.ts';
import { LogPager } from '../live/log-pager.ts';
import type { TopActions } from '../live/types.ts';
import { allDisabled, stopDisabled } from '../model/hints.ts';
import { commandFor, type Command } from '../model/keymap.ts';
import { selection } from '../model/selection.ts';
import type { TopStore } from '../model/top-store.ts';
import type { Flash, ViewAction, ViewState } from '../model/view-state.ts';

/** What keys act on. */
export interface KeyContext {
  store: TopStore;
  actions: TopActions;
  exit: () => void;
  dispatch: (action: ViewAction) => void;
  setPager: (pager: LogPager | null) => void;
  viewRef: RefObject<ViewState>;
  pagerRef: RefObject<LogPager | null>;
  /** The follower shown and the layout, as of the last render. */
  latest: RefObject<{ tail: LogFollower | null; logRows: number; tableRows: number }>;
}

/** A plain character's key flags. */
const NO_KEY = {} as Key;

/** Handles the keys while isActive (stdin is a terminal). */
export function useTopKeys({ store, actions, exit, dispatch, setPager, viewRef, pagerRef, latest }: KeyContext, isActive: boolean): void {
  const onKey = useCallback(
    (input: string, key: Key): void => {
      // Several keys read at once (key repeat, typing ahead) arrive as one input: one at a time.
      if (input.length > 1 && !key.ctrl && !key.meta && /^[\x20-\x7e]+$/.test(input) && viewRef.current.overlay !== 'filter') {
        for (const ch of input) onKey(ch, NO_KEY);
        return;
      }
      const v = viewRef.current;
      const cmd = commandFor(input, key, v.overlay);
      if (!cmd) return;
      if (v.flash && cmd.type !== 'quit') dispatch({ type: 'flash', flash: null });
      const flash = (text: string, tone: Flash['tone'] = 'info') => dispatch({ type: 'flash', flash: { text, tone } });
      const s = store.getSnapshot();
      const { ids, selectedId, selected } = selection(s, v);
      const { tail, logRows, tableRows } = latest.current;

      const scrollLog = (move: Extract<Command, { type: 'move' }>) => {
        let p = pagerRef.current;
        if (move.by === 'end' && move.delta === 1) return setPager(null); // End: follow again
        if (p && move.by === 'page' && move.delta === 1 && p.view().atBottom) return setPager(null); // past the end: follow
        if (!p) {
          if (move.delta === 1 && move.by !== 'end') return; // following is the bottom already
          if (selectedId === null) return;
          p = new LogPager(actions.logs, { jobId: selectedId, streams: v.streams, height: logRows }, tail?.buffer.lines() ?? []);
          setPager(p);
        }
        if (move.by === 'end') p.home();
        else if (move.by === 'page') (move.delta < 0 ? p.pageUp() : p.pageDown());
        else p.scroll(move.delta);
      };

      switch (cmd.type) {
        case 'quit':
          exit();
          return;
        case 'move':
          if (v.screen === 'log') scrollLog(cmd);
          else dispatch({ type: 'move', delta: cmd.by === 'line' ? cmd.delta : cmd.by === 'page' ? cmd.delta * tableRows : cmd.delta * ids.length, ids });
          return;
        case 'open':
          if (v.screen === 'log') {
            setPager(null);
            dispatch({ type: 'close-log' });
          } else if (selectedId !== null) dispatch({ type: 'open-log', id: selectedId });
          return;
        case 'back':
          if (v.overlay === 'help') dispatch({ type: 'close-overlay' });
          else if (v.screen === 'log') {
            setPager(null);
            dispatch({ type: 'close-log' });
          } else if (v.filter) dispatch({ type: 'filter-cancel' });
          return;
        case 'stop': {
          const reason = stopDisabled({ role: s.role, user: s.user, job: selected?.job ?? null });
          if (reason !== null) flash(`s stop: ${reason}`, 'warn');
          else if (selectedId !== null) dispatch({ type: 'confirm-stop', id: selectedId });
          return;
        }
        case 'yes': {
          const id = v.confirmId;
          dispatch({ type: 'close-overlay' });
          if (id === null) return;
          flash(`stopping job ${id}…`);
          actions.stopJob(id).then(
            (job) => flash(`job ${id} ${statusText(job)}`),
            (err: unknown) => flash(`cannot stop job ${id}: ${isJobctlError(err) ? err.message : String(err)}`, 'error'),
          );
          return;
        }
        case 'no':
          dispatch({ type: 'close-overlay' });
          flash('stop cancelled');
          return;
        case 'filter':
          dispatch({ type: 'filter-start' });
          return;
        case 'type':
          dispatch({ type: 'filter-type', text: cmd.text });
          return;
        case 'erase':
          dispatch({ type: 'filter-erase' });
          return;
        case 'accept':
          dispatch({ type: 'filter-accept' });
          return;
        case 'cancel':
          dispatch({ type: 'filter-cancel' });
          return;
        case 'all': {
          const reason = allDisabled({ role: s.role });
          if (reason !== null) flash(`a all users: ${reason}`, 'warn');
          else actions.setAll(!s.all);
          return;
        }
        case 'streams':
          setPager(null);
          dispatch({ type: 'cycle-streams' });
          return;
        case 'help':
          dispatch({ type: 'help' });
          return;
      }
    },
    [store, actions, exit, dispatch, setPager, viewRef, pagerRef, latest],
  );
  useInput(onKey, { isActive });
}
