// `jobctl top`: the job list with the selected job's details and live tail, or one job's log
// full-screen (following, or scrolled back through its whole history), with help, filter and stop
// prompts. Data comes in through props (a store and the actions), so the app runs without a daemon
// in tests.
import { Box, useApp, useInput, useStdout, type Key } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { statusText } from '../../cli/format.ts';
import { isJobctlError } from '../../rpc/errors.ts';
import { useLogFollower } from '../hooks/use-log-follower.ts';
import { useNow } from '../hooks/use-now.ts';
import { useTerminalSize, type TerminalSize } from '../hooks/use-terminal-size.ts';
import { useFrame, type Subscribe } from '../hooks/use-frame.ts';
import { LogPager } from '../live/log-pager.ts';
import type { TopActions } from '../live/types.ts';
import { allDisabled, keyHints, stopDisabled } from '../model/hints.ts';
import { jobTitle, matchesFilter } from '../model/job-text.ts';
import { commandFor, type Command } from '../model/keymap.ts';
import { listLayout, logLayout, tooSmall } from '../model/layout.ts';
import type { TopSnapshot, TopStore } from '../model/top-store.ts';
import { INITIAL_VIEW, effectiveSelection, viewReducer, type Flash, type ViewAction, type ViewState } from '../model/view-state.ts';
import { Footer } from './Footer.tsx';
import { Header } from './Header.tsx';
import { HelpScreen } from './HelpScreen.tsx';
import { JobPane } from './JobPane.tsx';
import { JobTable } from './JobTable.tsx';
import { LogScreen } from './LogScreen.tsx';
import { TooSmall } from './TooSmall.tsx';

/** Props of App. */
export interface AppProps {
  store: TopStore;
  actions: TopActions;
  /** Keys are read (stdin is a terminal). */
  interactive: boolean;
  /** A fixed size (tests); default: the terminal's, live. */
  size?: TerminalSize;
  /** Data-driven redraws per second at most (keys redraw at once). */
  fps?: number;
}

/** The whole UI. */
export function App({ store, actions, interactive, size: fixedSize, fps = 10 }: AppProps) {
  const { exit } = useApp();
  const { stdout, write } = useStdout();
  // After a resize the old frame's rows are wherever the terminal left them: clear the screen and
  // have Ink write its whole last frame again from the top (writing through Ink resets what it
  // believes is on screen), then the new size renders over it.
  const redraw = useCallback(() => {
    stdout.write('\u001b[H\u001b[2J');
    write('');
  }, [stdout, write]);
  const liveSize = useTerminalSize(stdout, fixedSize ? undefined : redraw);
  const { columns, rows } = fixedSize ?? liveSize;
  const now = useNow(1000);

  // Keys can arrive faster than renders (typing ahead, a paste): each key must act on the state the
  // previous key left, so the view state and the pager live in refs that keys update at once; the
  // React state copies only trigger renders.
  const viewRef = useRef(INITIAL_VIEW);
  const [view, setView] = useState(INITIAL_VIEW);
  const dispatch = useCallback((action: ViewAction) => {
    viewRef.current = viewReducer(viewRef.current, action);
    setView(viewRef.current);
  }, []);
  const pagerRef = useRef<LogPager | null>(null);
  const [pager, setPagerState] = useState<LogPager | null>(null);
  const setPager = useCallback((next: LogPager | null) => {
    pagerRef.current = next;
    setPagerState(next);
  }, []);

  // The store is read at render: its snapshot changes only when it notifies, which asks for a frame.
  const snap = store.getSnapshot();
  const { filter, jobs, ids, selectedId, selected } = useMemo(() => derive(snap, view), [snap, view]);

  // Keep the selection on its job when newer jobs arrive above it.
  useEffect(() => {
    if (viewRef.current.selectedId === null && ids[0] !== undefined) dispatch({ type: 'select', id: ids[0] });
  }, [ids, dispatch]);

  const list = listLayout(rows);
  const logRows = logLayout(rows).logRows;

  const follower = useLogFollower(actions.logs, selectedId, view.streams, pager !== null);
  // The follower of the job and streams shown now (not the previous one, for one render).
  const tail = follower && follower.jobId === selectedId && follower.streams === view.streams ? follower : null;
  // Redraws for data (store events, the log tail, history pages) share one bounded frame rate.
  const tailChanges = useMemo<Subscribe | null>(() => (tail ? (l) => tail.onChange(l) : null), [tail]);
  const pagerChanges = useMemo<Subscribe | null>(() => (pager ? (l) => pager.onChange(l) : null), [pager]);
  useFrame(1000 / fps, store.subscribe, tailChanges, pagerChanges);
  useEffect(() => (pager ? () => pager.close() : undefined), [pager]);
  useEffect(() => pager?.setHeight(logRows), [pager, logRows]);

  // What keys read: always the latest, whenever the key arrives.
  const latest = useRef({ tail, logRows, tableRows: list.tableRows });
  latest.current = { tail, logRows, tableRows: list.tableRows };

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
      const { ids, selectedId, selected } = derive(s, v);
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
    [store, actions, exit, dispatch, setPager],
  );
  useInput(onKey, { isActive: interactive });

  if (tooSmall(columns, rows)) return <TooSmall columns={columns} rows={rows} />;

  let prompt: string | null = null;
  if (view.overlay === 'filter') prompt = `/ ${view.draft}█   Enter keeps · Esc clears`;
  if (view.overlay === 'confirm-stop') {
    const target = snap.jobs.find((v) => v.job.id === view.confirmId);
    prompt = `Stop job ${view.confirmId}${target ? ` (${jobTitle(target.job)})` : ''}? SIGTERM, then kill after the grace period. y: stop · other key: cancel`;
  }
  const footer = (
    <Footer
      hints={keyHints({ screen: view.screen, role: snap.role, user: snap.user, job: selected?.job ?? null, streams: view.streams, all: snap.all, following: pager === null })}
      flash={view.flash}
      prompt={prompt}
      noInput={!interactive}
    />
  );
  const bodyRows = rows - 1 - list.header - list.footer;

  let body;
  if (view.overlay === 'help') {
    body = <HelpScreen role={snap.role} rows={bodyRows} />;
  } else if (view.screen === 'log' && view.selectedId !== null) {
    return (
      <Box flexDirection="column" width={columns} height={rows - 1}>
        <LogScreen
          view={selected}
          jobId={view.selectedId}
          follow={pager ? null : { state: tail?.state ?? 'starting', lines: tail?.buffer.lines(logRows) ?? [] }}
          pager={pager?.view() ?? null}
          streams={view.streams}
          width={columns}
          rows={logRows}
        />
        {footer}
      </Box>
    );
  } else {
    body = (
      <Box flexDirection="column">
        <JobTable
          jobs={jobs}
          selectedId={selectedId}
          rows={list.tableRows}
          width={columns}
          now={now}
          empty={snap.jobs.length === 0 ? (snap.link.kind === 'live' ? '  no jobs yet' : '  …') : '  no job matches the filter'}
        />
        <JobPane
          view={selected}
          lines={tail?.buffer.lines(list.logRows) ?? []}
          follow={selected ? (tail?.state ?? 'starting') : null}
          streams={view.streams}
          width={columns}
          details={list.details}
          logRows={list.logRows}
        />
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={columns} height={rows - 1}>
      <Header snapshot={snap} now={now} shown={jobs.length} filter={filter} />
      <Box height={bodyRows} flexDirection="column" overflow="hidden">
        {body}
      </Box>
      {footer}
    </Box>
  );
}

/** A plain character's key flags. */
const NO_KEY = {} as Key;

/** The jobs shown (filtered, newest first), and the selected one. */
function derive(snap: TopSnapshot, view: ViewState) {
  const filter = view.overlay === 'filter' ? view.draft : view.filter;
  const jobs = filter ? snap.jobs.filter((v) => matchesFilter(v.job, filter)) : snap.jobs;
  const ids = jobs.map((v) => v.job.id);
  const selectedId = view.screen === 'log' ? view.selectedId : effectiveSelection(view, ids);
  const selected = snap.jobs.find((v) => v.job.id === selectedId) ?? null;
  return { filter, jobs, ids, selectedId, selected };
}
