// The daemon's dispatch table: one handler per method of the shared table, checked for exhaustiveness.
import type { MethodHandlers } from '../../rpc/methods.ts';
import type { CallContext } from '../context.ts';
import { certsIssue, certsList, certsRevoke } from './certs.ts';
import { eventsSubscribe, eventsUnsubscribe } from './events.ts';
import { auditList, daemonInfo, sessionInfo } from './info.ts';
import { jobGet, jobList, jobStart, jobStop, jobWait } from './jobs.ts';
import { logsSubscribe, logsUnsubscribe } from './logs.ts';

/** Every method's handler. */
export const HANDLERS: MethodHandlers<CallContext> = {
  'session.info': sessionInfo,
  'daemon.info': daemonInfo,
  'job.start': jobStart,
  'job.list': jobList,
  'job.get': jobGet,
  'job.stop': jobStop,
  'job.wait': jobWait,
  'logs.subscribe': logsSubscribe,
  'logs.unsubscribe': logsUnsubscribe,
  'events.subscribe': eventsSubscribe,
  'events.unsubscribe': eventsUnsubscribe,
  'certs.issue': certsIssue,
  'certs.list': certsList,
  'certs.revoke': certsRevoke,
  'audit.list': auditList,
};
