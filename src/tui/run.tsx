// Runs `jobctl top` in the terminal: the first connection (its failure is reported like any
// command's), the live link, and the Ink app on the alternate screen, which is always left again —
// on q, Ctrl-C, an error, or a signal — so the shell's screen comes back as it was.
import { constants } from 'node:os';
import { render } from 'ink';
import { App } from './components/App.tsx';
import { Link } from './live/link.ts';
import type { RpcConnection } from './live/types.ts';
import { TopStore } from './model/top-store.ts';

/** How to run the UI. */
export interface RunTopOptions {
  /** Opens a connection to the daemon (called again for every reconnect). */
  connect: () => Promise<RpcConnection>;
  /** Shown in the header (default: what the daemon reports). */
  endpoint?: string;
  /** Start with every user's jobs. */
  all: boolean;
}

/**
 * Ink's cap on frames per second. Data redraws at most 10 times a second (App's frame clock); this
 * cap only bounds how long a key waits for its frame (Ink throttles twice: render, then write).
 */
const MAX_FPS = 60;

const ENTER_ALT_SCREEN = '\u001b[?1049h\u001b[H\u001b[2J';
const LEAVE_ALT_SCREEN = '\u001b[?1049l\u001b[?25h';

/** Runs until the user quits; resolves with the exit status. */
export async function runTop(options: RunTopOptions): Promise<number> {
  const first = await options.connect();
  const stdout = process.stdout;
  const stdin = process.stdin;
  const store = new TopStore();
  const link = new Link({ connect: options.connect, store, all: options.all, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
  link.start(first);

  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    stdout.write(LEAVE_ALT_SCREEN);
  };
  stdout.write(ENTER_ALT_SCREEN);
  process.on('exit', leave);

  const interactive = Boolean(stdin.isTTY);
  const instance = render(<App store={store} actions={link} interactive={interactive} />, {
    stdout,
    stdin,
    exitOnCtrlC: false,
    patchConsole: true,
    maxFps: MAX_FPS,
    // Not incrementalRendering: in ink 6.8 it misplaces rows when the frame is not full-screen.
  });
  // Without a terminal on stdin there are no keys; Ctrl-C arrives as a signal. SIGTERM and SIGHUP
  // end the UI the same way (a signal's default action would skip leaving the alternate screen).
  let signalled: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    instance.unmount();
  };
  const signals: NodeJS.Signals[] = interactive ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  try {
    await instance.waitUntilExit();
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    link.stop();
    store.dispose();
    leave();
    process.off('exit', leave);
  }
  // As shells report it: 128 + the signal's number.
  return signalled ? 128 + constants.signals[signalled] : 0;
}
