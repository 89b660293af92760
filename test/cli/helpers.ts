// Shared pieces of the daemon/CLI integration tests: temp dirs, identities, client connections and a
// raw WebSocket client for the cases the Connection class is too well-behaved to express.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import type { Connection } from '../../src/client/connection.ts';
import { readIdentity, type IdentityPems } from '../../src/pki/index.ts';
import type { JobInfo } from '../../src/rpc/model.ts';
import type { CliResult, TestDaemon } from '../support/daemon.ts';
import { pollUntil } from '../support/poll.ts';

/** A fresh directory removed when the test (or, given a suite-level hook, the suite) ends. */
export function tempDir(t: Pick<TestContext, 'after'>, prefix = 'jobctl-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The local admin identity the daemon created in its home. */
export function adminIdentity(d: TestDaemon): IdentityPems {
  return readIdentity(join(d.home, 'pki', 'admin'));
}

/** The daemon's CA (certificate and key), for issuing deliberately bad certificates in tests. */
export function daemonCa(d: TestDaemon): { certPem: string; keyPem: string } {
  const id = readIdentity(join(d.home, 'pki', 'admin'));
  return { certPem: id.caPem, keyPem: readFileSync(join(d.home, 'pki', 'ca.key'), 'utf8') };
}

/** Issues an identity through the real CLI (`certs issue`) into dir and returns its PEMs. */
export async function issueIdentity(d: TestDaemon, user: string, role: 'admin' | 'user' | 'viewer', dir: string): Promise<IdentityPems> {
  const r = await d.cli(['certs', 'issue', '--user', user, '--role', role, '--out', dir]);
  assert.equal(r.code, 0, `certs issue ${user}: ${r.stderr}`);
  return readIdentity(dir);
}

/** Parameters of a job.start that runs argv in the temp dir with a usable PATH. */
export function spec(argv: string[], extra: { name?: string; cwd?: string } = {}) {
  return { argv, cwd: extra.cwd ?? tmpdir(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, limits: {}, name: extra.name ?? null };
}

/** Starts a job through a connection. */
export function startJob(c: Connection, argv: string[], extra: { name?: string; cwd?: string } = {}): Promise<JobInfo> {
  return c.call('job.start', spec(argv, extra));
}

/** Asserts that promise rejects with a JobctlError of this code; returns the error for more checks. */
export async function rejectsWith(promise: Promise<unknown>, code: string, what = ''): Promise<Error & { code: string }> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `${what}: expected a ${code} error, but the call succeeded`);
  assert.equal((caught as { code?: string }).code, code, `${what}: ${(caught as Error).message}`);
  return caught as Error & { code: string };
}

/** The one JSON value a CLI run printed on stdout (asserting exit 0 first). */
export function jsonOf<T = unknown>(r: CliResult): T {
  assert.equal(r.code, 0, `expected exit 0, got ${r.code}; stderr: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Asserts a CLI exit status, showing stderr when it differs. */
export function assertExit(r: CliResult, code: number, what = ''): void {
  assert.equal(r.code, code, `${what} exit ${r.code} (expected ${code}); stdout: ${r.stdout.slice(0, 500)}; stderr: ${r.stderr.slice(0, 500)}`);
}

/** Polls a job through the CLI until it reaches a state other than running. */
export async function waitEnded(d: TestDaemon, id: number, timeoutMs = 10_000): Promise<JobInfo> {
  return pollUntil(
    `job ${id} to end`,
    async () => {
      const job = jsonOf<JobInfo>(await d.cli(['status', String(id), '--json']));
      return job.state === 'running' ? null : job;
    },
    timeoutMs,
    50,
  );
}

/** A message the raw client received: parsed JSON for text frames, the bytes for binary ones. */
export type RawMessage = { binary: false; json: Record<string, unknown> } | { binary: true; data: Buffer };

/** A raw WebSocket client authenticated with an identity: sends anything, records everything. */
export interface RawClient {
  ws: WebSocket;
  messages: RawMessage[];
  /** Close code and reason once closed. */
  closed: Promise<{ code: number; reason: string }>;
  sendJson(value: unknown): void;
  /** Resolves with the response to request id (polls the recorded messages). */
  response(id: number, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** Opens a raw client; rejects with the HTTP status and body when the upgrade is refused. */
export function openRaw(t: Pick<TestContext, 'after'>, endpoint: string, pems: Partial<IdentityPems>, protocol: string | string[] = 'jobctl.v1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(endpoint, protocol, { ca: pems.caPem, cert: pems.certPem, key: pems.keyPem, minVersion: 'TLSv1.3', perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    const messages: RawMessage[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary) => messages.push(isBinary ? { binary: true, data } : { binary: false, json: JSON.parse(data.toString()) as Record<string, unknown> }));
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.removeListener('error', reject);
      ws.on('error', () => undefined);
      t.after(() => ws.terminate());
      resolve({
        ws,
        messages,
        closed,
        sendJson: (value) => ws.send(JSON.stringify(value)),
        response: (id, timeoutMs = 5000) =>
          pollUntil(
            `a response to request ${id}`,
            () => {
              const m = messages.find((x) => !x.binary && x.json.t === 'res' && x.json.id === id);
              return m && !m.binary ? m.json : null;
            },
            timeoutMs,
            5,
          ),
        close: () => ws.close(1000),
      });
    });
  });
}

/** The error object of a response frame (asserting there is one). */
export function errorOf(res: Record<string, unknown>): { code: string; message: string } {
  assert.ok(res.error, `expected an error response, got ${JSON.stringify(res).slice(0, 300)}`);
  return res.error as { code: string; message: string };
}
