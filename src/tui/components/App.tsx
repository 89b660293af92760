// `jobctl top`: the job list with the selected job's details and live tail, or one job's log
// full-screen (following, or scrolled back through its whole history), with help, filter and stop
// prompts. Data comes in through props (a store and the actions), so the app runs without a daemon
// in tests.
import { Box, useApp, useStdout } from 'ink';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useFrame, type Subscribe } from '../hooks/use-frame.ts';
import { useLogFollower } from '../hooks/use-log-follower.ts';
import { useNow } from '../hooks/use-now.ts';
import { useTerminalSize, type TerminalSize } from '../hooks/use-terminal-size.ts';
import { useTopKeys } from '../hooks/use-top-keys.ts';
import type { LogPager } from '../live/log-pager.ts';
import type { TopActions } from '../live/types.ts';
import { keyHints } from '../model/hints.ts';
import { jobTitle } from '../model/job-text.ts';
import { listLayout, logLayout, tooSmall } from '../model/layout.ts';
import { selection } from '../model/selection.ts';
import type { TopStore } from '../model/top-store.ts';
import { INITIAL_VIEW, viewReducer, type ViewAction } from '../model/view-state.ts';
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
  // previous key left, so the view state and the pager live in refs that keys update at once (see
  // useTopKeys); the React state copies only trigger renders.
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
  const { filter, jobs, ids, selectedId, selected } = useMemo(() => selection(snap, view), [snap, view]);

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

  useTopKeys({ store, actions, exit, dispatch, setPager, viewRef, pagerRef, latest }, interactive);

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
