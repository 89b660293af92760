// A supervisor process for the restart test: starts one job whose grandchild escapes its session,
// prints what it started as one JSON line, then waits to be SIGKILLed (a daemon crash).
import { makeHarness, output } from './harness.ts';
import { pollUntil } from '../support/poll.ts';

const [dir, instance, withCgroups] = process.argv.slice(2) as [string, string, string];
const h = makeHarness({ dir, instance, withCgroups: withCgroups === 'yes' });
const job = await h.supervisor.start(h.spec(['/bin/sh', '-c', 'setsid sleep 1000 & echo $!; exec sleep 1000']), 'alice');
const grandchild = await pollUntil('the grandchild PID', () => Number(output(h.store, job.id).stdout.toString().trim()) || null);
process.stdout.write(`${JSON.stringify({ jobId: job.id, pid: job.pid, grandchild })}\n`);
setInterval(() => undefined, 60_000);
