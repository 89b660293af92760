// What the terminal UI needs of the daemon, as narrow interfaces: the live link implements them over
// a Connection; tests implement them over arrays.
import type { Connection, LogSink } from '../../client/connection.ts';
import type { JobInfo } from '../../rpc/model.ts';
import type { ParamsOf } from '../../rpc/methods.ts';

/** logs.subscribe parameters. */
export type LogsParams = ParamsOf<'logs.subscribe'>;

/** An open log subscription. */
export interface LogStream {
  /** Why it ended: "finished" (all output sent), "unsubscribed"; rejects when the connection dropped. */
  done: Promise<string>;
  /** Unsubscribes (idempotent; chunks still in flight may arrive and should be ignored). */
  close(): void;
}

/** Reads jobs' output. */
export interface LogSource {
  /** Subscribes; rejects UNAVAILABLE while not connected. */
  open(params: LogsParams, sink: LogSink): Promise<LogStream>;
  /** Resolves once connected (at once when connected now). */
  whenConnected(): Promise<void>;
}

/** What the UI's keys can do. */
export interface TopActions {
  logs: LogSource;
  /** Stops a job (graceful, then kill); resolves with its final state. */
  stopJob(id: number): Promise<JobInfo>;
  /** Shows every user's jobs, or one's own. */
  setAll(all: boolean): void;
}

/** The part of a Connection the link uses (a test can provide a fake). */
export type RpcConnection = Pick<Connection, 'call' | 'on' | 'onClose' | 'streamLogs' | 'close'>;
