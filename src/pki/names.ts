// Names a server certificate is valid for: DNS names and IP literals, told apart because they go in
// different subjectAltName types (dNSName = 2, iPAddress = 7 holding the raw 4 or 16 address bytes).
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { invalidArgument } from '../rpc/errors.ts';

/** One subjectAltName entry. */
export type SanName = { kind: 'dns'; name: string } | { kind: 'ip'; name: string; bytes: Uint8Array };

/** The names every daemon certificate covers, before the host name and configured extras. */
export const LOCAL_NAMES = ['localhost', '127.0.0.1', '::1'] as const;

// RFC 1123 labels; "_" is tolerated because real host names carry it and OpenSSL matches it fine.
// A leading "*." wildcard is allowed for configured names.
const DNS_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** What a server name may be, for messages. */
export const NAME_RULE = 'a DNS name (like jobs.example.com) or an IP address (like 10.0.0.5 or ::1)';

/** Classifies and normalizes one name (lowercase DNS; "[::1]" unbracketed); throws INVALID_ARGUMENT. */
export function parseServerName(raw: string, field = 'names'): SanName {
  const text = raw.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIP(text) !== 0) return { kind: 'ip', name: text, bytes: ipToBytes(text) };
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253 || !DNS_NAME.test(name)) throw invalidArgument(field, raw, NAME_RULE);
  return { kind: 'dns', name };
}

/** The raw network-order bytes of an IPv4 or IPv6 literal (as iPAddress SANs carry them). */
export function ipToBytes(ip: string): Uint8Array {
  const family = isIP(ip);
  if (family === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (family !== 6) throw invalidArgument('ip', ip, 'an IPv4 or IPv6 address');
  // An embedded IPv4 tail ("::ffff:1.2.3.4") stands for the last two groups.
  let text = ip.replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  return bytes;
}

/** Deduplicated, normalized names in first-seen order; invalid names throw INVALID_ARGUMENT. */
export function parseServerNames(names: readonly string[], field = 'names'): SanName[] {
  const seen = new Set<string>();
  const out: SanName[] = [];
  for (const raw of names) {
    const san = parseServerName(raw, field);
    const key = san.kind === 'ip' ? `ip:${Buffer.from(san.bytes).toString('hex')}` : `dns:${san.name}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(san);
    }
  }
  return out;
}

/** localhost, 127.0.0.1, ::1, this host's name (when it is a valid DNS name) and extra. */
export function defaultServerNames(extra: readonly string[] = []): string[] {
  const host = hostname();
  const hostOk = (() => {
    try {
      parseServerName(host);
      return true;
    } catch {
      return false;
    }
  })();
  return [...LOCAL_NAMES, ...(hostOk ? [host.toLowerCase()] : []), ...extra];
}
