// The daemon's lifecycle: lock the home, load PKI and config, open the database, detect cgroups,
// reconcile what an earlier run left, listen, publish daemon.json. close() is the clean shutdown that
// SIGTERM/SIGINT trigger: stop accepting, stop every running job (graceful, then kill — jobs' output
// goes through the daemon, so none may outlive it), close the database, remove daemon.json.
import { chmodSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { openCgroupHost, type CgroupHost } from '../cgroup/index.ts';
import { loadConfig, splitListen, type DaemonConfig } from '../home/config.ts';
import { removeDaemonFile, writeDaemonFile } from '../home/daemon-file.ts';
import { acquireLock } from '../home/lock.ts';
import { cgroupInstanceName, homePaths, type HomePaths } from '../home/paths.ts';
import { Supervisor } from '../jobs/supervisor.ts';
import { processStartTime } from '../jobs/proc.ts';
import { ensureDaemonPki, issueClientCert, tlsServerOptions } from '../pki/index.ts';
import { JobctlError } from '../rpc/errors.ts';
import { applyRetention, openStore, type Store } from '../store/index.ts';
import type { DaemonContext } from './context.ts';
import type { Logger } from './logger.ts';
import { notifyReady } from './readiness.ts';
import { createDaemonServer } from './server.ts';
import type { Session } from './session.ts';

/** How to run a daemon. */
export interface DaemonOptions {
  home: string;
  /** Overrides config.json's listen. */
  listen?: string;
  version: string;
  logger: Logger;
}

/** A running daemon. */
export interface RunningDaemon {
  endpoint: string;
  paths: HomePaths;
  config: DaemonConfig;
  /** Clean shutdown; resolves when every job is stopped and everything is closed. */
  close(): Promise<void>;
}

const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** At shutdown, how long log followers may take to receive the end of the stopped jobs' output. */
const SHUTDOWN_DRAIN_MS = 2000;

/** Starts a daemon for options.home; throws a coded error when it cannot (lock held, bad config, port in use). */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { logger } = options;
  const paths = homePaths(options.home);
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  chmodSync(paths.home, 0o700);
  const config = loadConfig(paths.config);
  const lock = acquireLock(paths.lock, (pid) => processStartTime(pid));
  const cleanups: Array<() => void | Promise<void>> = [() => lock.release()];
  try {
    const localUser = safeUserName();
    const store = openStore(paths.database, { logCapBytes: config.logCapBytes, onWarning: (m) => logger.warn(`store: ${m}`) });
    cleanups.push(() => store.close());
    const pki = ensureDaemonPki(paths.pki, { extraNames: [...config.serverNames, ...listenNames(options.listen ?? config.listen)], localUser, isRevoked: (serial) => store.certs.isRevoked(serial) });
    if (!store.certs.list().some((c) => c.serial === pki.admin.serial)) {
      store.certs.recordIssued({ serial: pki.admin.serial, user: pki.admin.user, role: 'admin', notAfter: Date.parse(pki.admin.notAfter), issuedBy: '' });
    }
    const cgroups = openCgroups(options.home, logger);
    const supervisor = new Supervisor({
      store,
      cgroups,
      defaultLimits: config.defaultLimits,
      maxLimits: config.maxLimits,
      defaultGraceMs: config.stopGraceMs,
      onWarning: (m) => logger.warn(m),
    });
    const lost = await supervisor.reconcile();
    for (const job of lost) logger.warn(`job ${job.id} was running when the daemon stopped: marked lost`, { owner: job.owner });
    runRetention(store, config, logger);
    const retentionTimer = setInterval(() => runRetention(store, config, logger), RETENTION_INTERVAL_MS);
    retentionTimer.unref();
    cleanups.push(() => clearInterval(retentionTimer));

    const sessions = new Set<Session>();
    const context: DaemonContext = {
      version: options.version,
      startedAt: new Date(),
      endpoint: '',
      paths,
      config,
      store,
      supervisor,
      cgroups,
      capabilities: cgroups?.capabilities ?? null,
      authority: {
        caPem: pki.ca.certPem,
        issueClient: (user, role, days) => {
          const c = issueClientCert(pki.ca, { user, role, days });
          return { certPem: c.certPem, keyPem: c.keyPem, serial: c.serial, notAfter: new Date(c.notAfter) };
        },
      },
      logger,
      sessions,
    };
    supervisor.onChange((job) => logger.info(`job ${job.id} ${job.state}`, { owner: job.owner, exitCode: job.exitCode ?? undefined, signal: job.signal ?? undefined, oom: job.oomKilled || undefined }));

    const server = createDaemonServer(tlsServerOptions({ caPem: pki.ca.certPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem }), context);
    const { host, port } = splitListen(options.listen ?? config.listen);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new JobctlError(err.code === 'EADDRINUSE' ? 'BUSY' : 'UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err })),
      );
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const endpoint = `wss://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    context.endpoint = endpoint;
    writeDaemonFile(paths.daemonJson, { endpoint, pid: process.pid, startedAt: context.startedAt.toISOString(), version: options.version });
    logger.info('daemon ready', { endpoint, home: paths.home, pid: process.pid, cgroups: cgroups?.capabilities.layout ?? 'none' });
    void notifyReady(`listening on ${endpoint}`, logger);

    let closing: Promise<void> | null = null;
    return {
      endpoint,
      paths,
      config,
      close: () =>
        (closing ??= (async () => {
          logger.info('shutting down: stopping running jobs', { running: supervisor.runningIds().length });
          removeDaemonFile(paths.daemonJson, process.pid);
          server.close();
          // Jobs first, sessions after: a client waiting on a job (wait, run -f, logs -f) gets the
          // job's end — its last output and its `stopped` result — not a dropped connection.
          await supervisor.shutdown();
          await drainLogStreams(sessions, SHUTDOWN_DRAIN_MS);
          const open = [...sessions];
          for (const session of open) session.close(1001, 'daemon shutting down');
          // Let the close handshakes finish, so clients read "shutting down" rather than a dropped link.
          await Promise.race([Promise.all(open.map((s) => s.socketClosed)), new Promise((resolve) => setTimeout(resolve, SHUTDOWN_DRAIN_MS).unref())]);
          server.closeAllConnections?.();
          for (const cleanup of cleanups.reverse()) await cleanup();
          logger.info('daemon stopped');
        })()),
    };
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await cleanup();
    throw err;
  }
}

/** Resolves once no session streams logs any more (every job has ended, so followers finish), or after ms. */
async function drainLogStreams(sessions: Set<Session>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && [...sessions].some((s) => s.isOpen() && s.streamsLogs())) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function openCgroups(home: string, logger: Logger): CgroupHost | null {
  try {
    const host = openCgroupHost({ instance: cgroupInstanceName(home) });
    for (const warning of host.capabilities.warnings) logger.warn(`cgroups: ${warning}`);
    if (host.capabilities.layout === 'none') {
      logger.warn('no usable cgroup hierarchy: jobs run in process groups and limits are refused');
    }
    return host;
  } catch (err) {
    logger.warn(`cgroups unavailable: ${(err as Error).message}; jobs run in process groups and limits are refused`);
    return null;
  }
}

/** Stores with a retention pass under way: a slow one (many steps) must not be joined by the next timer's. */
const retentionRunning = new WeakSet<Store>();

/**
 * One retention pass: deletes and shrinks in steps spread over turns of the event loop (never one
 * long stall); a pass still running when the timer fires again is left to finish.
 */
function runRetention(store: Store, config: DaemonConfig, logger: Logger): void {
  if (retentionRunning.has(store)) return;
  retentionRunning.add(store);
  applyRetention(store, {
    maxAgeMs: config.retention.maxAgeDays === null ? undefined : config.retention.maxAgeDays * 86_400_000,
    maxFinishedJobs: config.retention.maxFinishedJobs ?? undefined,
  })
    .then((result) => {
      if (result.jobsDeleted > 0) {
        logger.info('retention removed finished jobs', {
          jobs: result.jobsDeleted,
          bytesFreed: result.bytesFreed,
          vacuumSteps: result.vacuumSteps,
          longestStepMs: Math.round(result.longestStepMs * 10) / 10,
        });
      }
    })
    .catch((err: unknown) => {
      // The store closing under a pass (shutdown) ends it; anything else is worth telling.
      if (store.db.open) logger.error('retention failed', { error: (err as Error).message });
    })
    .finally(() => {
      retentionRunning.delete(store);
    });
}

// A concrete listen address (not a wildcard) must be in the server certificate for clients to verify it.
function listenNames(listen: string): string[] {
  const { host } = splitListen(listen);
  return host === '0.0.0.0' || host === '::' || host === '' ? [] : [host];
}

// Certificate CNs must be valid user names; a local account name that is not one is made safe.
function safeUserName(): string {
  let name = 'admin';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers): fall back
  }
  const cleaned = name.replace(/[^A-Za-z0-9._@-]/g, '_').replace(/^-+/, '').slice(0, 64);
  return cleaned || 'admin';
}
