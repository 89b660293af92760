// The events the daemon pushes to subscribers, typed once for both ends. Events come only from the
// daemon, so they carry types, not validators.
import type { JobChangedEvent, JobUsageEvent, LogsEndEvent, LogsGapEvent } from './results.ts';

/** Every event name with its params type. */
export interface EventMap {
  'job.changed': JobChangedEvent;
  'job.usage': JobUsageEvent;
  'logs.end': LogsEndEvent;
  'logs.gap': LogsGapEvent;
}

/** The wire name of an event. */
export type EventName = keyof EventMap;

/** The params of event E. */
export type EventParamsOf<E extends EventName> = EventMap[E];

/** All event names. */
export const EVENT_NAMES: readonly EventName[] = ['job.changed', 'job.usage', 'logs.end', 'logs.gap'];

/** True when name is a known event; a client ignores (or logs) others, which a newer daemon may send. */
export function isEventName(name: string): name is EventName {
  return (EVENT_NAMES as readonly string[]).includes(name);
}
