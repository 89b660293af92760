// jobctl run [limits] [--name N] [--env K=V] [--clean-env] [--cwd D] [-f] [--json] -- CMD [ARGS…]
// jobctl run [limits] [same options] --batch FILE|-     one job per JSON line (see ../batch-spec.ts)
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { resolve } from 'node:path';
import { invalidArgument } from '../../rpc/errors.ts';
import { absolutePath, jobName } from '../../rpc/fields.ts';
import { connect, type GlobalArgs } from '../context.ts';
import { envFromArgs } from '../env-args.ts';
import { checkFlag, renameFields, type FlagOrigin } from '../flag-values.ts';
import { limitsFromArgs, withLimitOptions } from '../limits-args.ts';
import { jobOutcome } from '../job-outcome.ts';
import { note, out } from '../io.ts';
import { followJob } from './follow.ts';

/** yargs definition of `run`. */
export const runCommand = {
  command: 'run [command..]',
  describe: 'start a job; prints its id (with -f: streams its output and exits with its status)',
  builder: (y: Argv<GlobalArgs>) =>
    withLimitOptions(y)
      .positional('command', { type: 'string', array: true, describe: 'the command and its arguments (after --)' })
      .option('name', { type: 'string', describe: 'a name to recognise the job by' })
      .option('env', { type: 'string', array: true, describe: 'set K=V in the job environment (repeatable)' })
      .option('clean-env', { type: 'boolean', default: false, describe: 'start from an empty environment instead of yours' })
      .option('cwd', { type: 'string', describe: 'working directory on the daemon host (default: yours)' })
      .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'stream the output; exit with the job status' })
      .option('json', { type: 'boolean', default: false, describe: 'print the job as JSON; with -f, stdout carries only JSON lines: the output as logs --json prints it (one object per chunk, stdout and stderr), then the final job on one line' })
      // nargs 1: without it yargs reads `--batch -` as an empty value.
      .option('batch', { type: 'string', nargs: 1, describe: 'start one job per line of FILE (- for stdin): a JSON array (the command) or {"argv", "name", "cwd", "env"}; prints the ids in order' })
      .example('$0 run -- make test', 'run make test, print the job id')
      .example('$0 run --memory 512M --cpu 0.5 -f -- ./build.sh', 'run limited, stream output, exit with its status')
      .example('$0 run -f --json -- make | tail -n 1', 'the final job object, after the output as JSON lines')
      .example(`printf '%s\\n' '["./sim", "1"]' '["./sim", "2"]' | $0 run --cpu 1 --batch -`, 'start many jobs over one connection'),
  handler: async (args: GlobalArgs & Record<string, unknown>): Promise<number> => {
    const argv = [...((args['--'] as string[] | undefined) ?? []), ...((args.command as string[] | undefined) ?? [])].map(String);
    const batch = args.batch as string | undefined;
    if (batch !== undefined && argv.length > 0) throw invalidArgument('command', argv.join(' '), 'no command with --batch (the commands are the lines of the batch)');
    if (batch !== undefined && args.follow) throw invalidArgument('--follow', true, 'not with --batch (follow one job: jobctl logs -f ID)');
    if (batch === undefined && argv.length === 0) throw invalidArgument('command', '', 'a command to run, after --: jobctl run -- CMD [ARGS...]');
    const clean = Boolean(args.cleanEnv);
    const env = envFromArgs(((args.env as unknown[] | undefined) ?? []).map(String), clean ? {} : (process.env as Record<string, string>), { clean });
    const origins: FlagOrigin[] = [];
    const limits = limitsFromArgs(args as never, origins);
    const cwd = resolve(String(args.cwd ?? process.cwd()));
    if (args.cwd !== undefined) {
      checkFlag('--cwd', String(args.cwd), cwd, absolutePath);
      origins.push({ field: 'cwd', flag: '--cwd', typed: String(args.cwd), sent: cwd });
    }
    const name = (args.name as string | undefined) ?? null;
    if (name !== null) {
      checkFlag('--name', name, name, jobName);
      origins.push({ field: 'name', flag: '--name', typed: name, sent: name });
    }
    if (batch !== undefined) {
      const { parseBatch } = await import('../batch-spec.ts');
      const { submitBatch } = await import('../batch-submit.ts');
      const jobs = parseBatch(readBatch(batch), { cwd, env, limits, name });
      return submitBatch(await connect(args), jobs, { json: Boolean(args.json) });
    }
    const connection = await connect(args);
    const job = await renameFields(connection.call('job.start', { argv, cwd, env, limits, name }), origins);
    if (job.state === 'failed') {
      // Without -f: the id (or the job) as always. With -f --json the job as the one JSON line that
      // would have ended the output; plain -f prints no output, so nothing.
      if (!args.follow) out(args.json ? JSON.stringify(job, null, 2) : String(job.id));
      else if (args.json) out(JSON.stringify(job));
      note(jobOutcome(job).note as string);
      return 1;
    }
    if (!args.follow) {
      out(args.json ? JSON.stringify(job, null, 2) : String(job.id));
      return 0;
    }
    const final = await followJob(connection, job.id, { format: args.json ? 'json' : 'raw' });
    // A reader that closed the pipe (| head) had enough: quietly 0. Ctrl-C detaches: the job goes on.
    if (final === 'pipe-closed') return 0;
    if (final === 'interrupted') {
      note(`jobctl: detached; job ${job.id} keeps running (jobctl logs -f ${job.id} to follow it again, jobctl stop ${job.id} to stop it)`);
      return 130;
    }
    // After the output's JSON lines, the final job as one more line (the object status --json prints).
    if (args.json) out(JSON.stringify(final));
    const outcome = jobOutcome(final);
    if (outcome.note) note(outcome.note);
    return outcome.status;
  },
};

/** The text of the batch file, or of stdin for "-". */
function readBatch(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw invalidArgument('--batch', file, `a readable file of JSON lines, or - for stdin (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
