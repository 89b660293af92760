// The daemon's listen address given on the command line (`daemon --listen`, `service install
// --listen`): checked before anything starts, with the rules and wording config.json's "listen"
// gets (home/config.ts), so a typo is a usage error instead of an internal error from the daemon.
import { invalidArgument } from '../rpc/errors.ts';

/** What --listen accepts. */
export const LISTEN_FORMAT = 'HOST:PORT, e.g. 127.0.0.1:7777, 0.0.0.0:7443 or [::1]:7777 (an IPv6 address in brackets; port 0: any free port)';

// As config.ts: a bracketed IPv6 address or a host without colons, then one port of up to 5 digits.
const LISTEN = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/;

/** text if it is a valid HOST:PORT; otherwise INVALID_ARGUMENT naming flag, the text and the format. */
export function checkListen(text: string, flag = '--listen'): string {
  const m = text.length <= 300 ? LISTEN.exec(text) : null;
  if (!m) throw invalidArgument(flag, text, LISTEN_FORMAT);
  if (Number(m[2]) > 65535) throw invalidArgument(flag, text, 'HOST:PORT with a port from 0 to 65535 (0: any free port)');
  return text;
}
