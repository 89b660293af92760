// jobctl top: the terminal UI (jobs, usage, live output). Ink and React load only here.
import type { Argv } from 'yargs';
import { connect, openConnections, type GlobalArgs } from '../context.ts';
import { note } from '../io.ts';

/** Variables that make Ink (through is-in-ci, read once when Ink loads) draw only the final frame. */
const CI_MARKERS = ['CI', 'CONTINUOUS_INTEGRATION'] as const;

/**
 * Loads the UI with the CI markers hidden. We already know stdout is a terminal, and a user who
 * exports CI=1 in their shell (or a CI job driving tmux) would otherwise see a blank screen. The
 * variables come back at once, so anything the UI starts (an autostarted daemon) still sees them.
 */
async function importWithoutCiMarkers<T>(load: () => Promise<T>): Promise<T> {
  const saved = CI_MARKERS.map((name) => [name, process.env[name]] as const);
  for (const [name] of saved) delete process.env[name];
  try {
    return await load();
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}

/** yargs definition of `top`. */
export const topCommand = {
  command: 'top',
  describe: 'the terminal UI: jobs, usage and live output (? for keys, q quits)',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .option('all', { alias: 'a', type: 'boolean', default: false, describe: "start with every user's jobs (admin, viewer)" })
      .example('$0 top', 'watch your jobs; Enter opens a log, s stops a job'),
  handler: async (args: GlobalArgs & { all: boolean }): Promise<number> => {
    if (!process.stdout.isTTY) {
      note('jobctl top: needs a terminal (stdout is not a TTY); for scripts use "jobctl ps", "jobctl status ID" or "jobctl logs -f ID"');
      return 2;
    }
    const { runTop } = await importWithoutCiMarkers(() => import('../../tui/run.tsx'));
    return runTop({
      all: args.all,
      ...(args.endpoint ? { endpoint: args.endpoint } : {}),
      connect: async () => {
        const connection = await connect(args);
        // Reconnects open new connections: forget the dropped ones.
        connection.onClose(() => openConnections.delete(connection));
        return connection;
      },
    });
  },
};
