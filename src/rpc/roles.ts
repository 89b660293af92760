// Who a caller is: roles, user names and certificate serials. Shared by pki/ (which writes them into
// certificates) and by the method table (which checks them in parameters), so the rules exist once.
import { invalidArgument } from './errors.ts';

/** The three roles a client certificate can carry (its subject O). */
export const ROLES = ['admin', 'user', 'viewer'] as const;

/** One role: `admin` everything; `user` starts jobs and reaches its own; `viewer` reads all jobs. */
export type Role = (typeof ROLES)[number];

/** The authenticated caller of an RPC, as read from its client certificate. */
export interface Caller {
  user: string;
  role: Role;
}

/** True when value is one of the three roles. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

// 64 is X.520's upper bound for a commonName, where the user name is stored. A leading dash is refused
// so that a name can never be mistaken for an option on a command line.
const USER_NAME = /^[A-Za-z0-9._@][A-Za-z0-9._@-]{0,63}$/;

/** What a user name may be, for error messages. */
export const USER_NAME_RULE = '1-64 characters of A-Z a-z 0-9 . _ @ -, not starting with "-"';

/** True when value is an acceptable user name. */
export function isUserName(value: unknown): value is string {
  return typeof value === 'string' && USER_NAME.test(value);
}

/** Returns value as a user name or throws INVALID_ARGUMENT naming field. */
export function checkUserName(value: unknown, field = 'user'): string {
  if (!isUserName(value)) throw invalidArgument(field, value, `a user name: ${USER_NAME_RULE}`);
  return value;
}

/** Returns value as a role or throws INVALID_ARGUMENT naming field. */
export function checkRole(value: unknown, field = 'role'): Role {
  if (!isRole(value)) throw invalidArgument(field, value, `one of ${ROLES.join(', ')}`);
  return value;
}

/** What a serial may look like, for error messages. */
export const SERIAL_RULE = 'a certificate serial: 1-40 hex digits (colons and a 0x prefix allowed), as shown by "jobctl certs list"';

/**
 * Canonical form of a certificate serial: lowercase hex without separators or leading zeros.
 * OpenSSL prints serials in uppercase with colons, Node in uppercase; the store keys on this form.
 * Returns null when text is not a serial.
 */
export function normalizeSerial(text: string): string | null {
  let hex = text.trim().toLowerCase();
  if (hex.startsWith('0x')) hex = hex.slice(2);
  hex = hex.replaceAll(':', '');
  if (!/^[0-9a-f]{1,40}$/.test(hex)) return null;
  const stripped = hex.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}
