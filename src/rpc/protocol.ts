// Connection-level protocol constants and version negotiation. The version travels in the WebSocket
// subprotocol (Sec-WebSocket-Protocol: jobctl.v1), so a mismatch is caught at the upgrade, before any
// frame, and the daemon can answer an old client with the versions it serves.
import { JobctlError } from './errors.ts';

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;

/** Versions this build serves as a daemon (newest first). */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

/** Largest WebSocket message accepted in either direction (JSON or binary), in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** Deepest nesting of arrays/objects a JSON frame may have (ours need 5; the rest is headroom). */
export const MAX_JSON_DEPTH = 32;

/** Most requests one connection may have unanswered; more get BUSY. */
export const MAX_IN_FLIGHT = 64;

/** Most live subscriptions (logs and events) one connection may hold. */
export const MAX_SUBSCRIPTIONS = 256;

const PREFIX = 'jobctl.v';

/** The subprotocol token for a version: 1 → "jobctl.v1". */
export function subprotocolFor(version: number): string {
  return `${PREFIX}${version}`;
}

/** The version in one subprotocol token ("jobctl.v1" → 1), or null when it is not a jobctl token. */
export function parseSubprotocol(token: string): number | null {
  const m = /^jobctl\.v([1-9][0-9]{0,5})$/.exec(token.trim());
  return m ? Number(m[1]) : null;
}

/** The jobctl versions offered in a Sec-WebSocket-Protocol header (comma-separated) or a parsed set. */
export function offeredVersions(offered: string | Iterable<string> | undefined): number[] {
  if (offered === undefined) return [];
  const tokens = typeof offered === 'string' ? offered.split(',') : [...offered];
  return tokens.map(parseSubprotocol).filter((v): v is number => v !== null);
}

/**
 * Picks the newest version both sides speak and returns its token, or throws PROTOCOL with a message
 * that says what the client offered and what this daemon serves, for the daemon to send back.
 */
export function chooseSubprotocol(offered: string | Iterable<string> | undefined): { version: number; protocol: string } {
  const versions = offeredVersions(offered);
  const version = SUPPORTED_PROTOCOL_VERSIONS.find((v) => versions.includes(v));
  if (version !== undefined) return { version, protocol: subprotocolFor(version) };
  const served = SUPPORTED_PROTOCOL_VERSIONS.map((v) => `v${v}`).join(', ');
  const said = versions.length === 0 ? 'offered no jobctl protocol version (not a jobctl client?)' : `speaks protocol ${versions.map((v) => `v${v}`).join(', ')}`;
  const newest = Math.max(...versions);
  const hint =
    versions.length === 0 ? 'connect with a jobctl client' : newest < PROTOCOL_VERSION ? 'upgrade the client' : 'upgrade the daemon, or use a client of its release';
  throw new JobctlError('PROTOCOL', `the client ${said}; this daemon serves ${served}: ${hint}`, {
    details: { offered: versions, served: [...SUPPORTED_PROTOCOL_VERSIONS] },
  });
}
