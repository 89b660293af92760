// A latency probe in its own process, so that the test process's own load does not count as the
// daemon's: connects with an identity directory and calls session.info every INTERVAL ms until stdin
// closes, printing "ready", then each round-trip time (ms) on a line of its own, then "done".
// Usage: node lag-probe.fixture.js ENDPOINT IDENTITY_DIR [INTERVAL_MS]
import { Connection } from '../../src/client/connection.ts';
import { readIdentity } from '../../src/pki/index.ts';

const [endpoint, identityDir, interval = '20'] = process.argv.slice(2);
// `node --test DIR` also runs this file (everything under test/ is a test to it): without arguments
// there is nothing to probe.
if (!endpoint || !identityDir) process.exit(0);
const c = await Connection.open(endpoint, readIdentity(identityDir));
let running = true;
process.stdin.on('end', () => (running = false));
process.stdin.on('close', () => (running = false));
process.stdin.resume();
process.stdout.write('ready\n');
while (running) {
  const t0 = performance.now();
  await c.call('session.info', {});
  process.stdout.write(`${(performance.now() - t0).toFixed(3)}\n`);
  await new Promise((r) => setTimeout(r, Number(interval)));
}
process.stdout.write('done\n');
c.close();
process.exit(0);
