// The idle daemon: CPU time used and resident memory over one window, for every tool that keeps a
// daemon (jobctl, pm2, the tsp server), each after it has run one job. All are watched over the same
// window, so the machine's load is the same for all.
import { cpuMs, median, progress, QUICK, rssBytes, sleep, withChildren } from './lib.ts';
import type { Peer } from './peers.ts';
import type { Row } from './report.ts';

/** CPU time (ms) of a daemon and its helper processes, summed. */
const treeCpuMs = (pid: number): number => withChildren(pid).reduce((sum, p) => sum + (cpuMs(p) ?? 0), 0);
/** RSS (bytes) of a daemon and its helper processes, summed. */
const treeRssBytes = (pid: number): number => withChildren(pid).reduce((sum, p) => sum + (rssBytes(p) ?? 0), 0);

/** CPU % of one core and RSS over the window, each daemon counted with its helper processes (no job runs then). */
export async function idleDaemons(peers: Peer[]): Promise<Row[]> {
  const seconds = QUICK ? 20 : 60;
  const watched = peers.filter((p) => p.daemonPid() !== null);
  for (const p of watched) {
    const { ref } = await p.submit(['/bin/true']);
    await p.wait(ref);
  }
  // Let start-up work and the job's end settle. 15 s, not 2: a freshly started jobctl daemon has one
  // round of V8 garbage collection ≈ 5–12 s after its start (≈ 50 ms on 5 threads, once: after it
  // the daemon reads 0 ticks for minutes, checked per thread from /proc); a polling loop would show
  // in any window, this one-off would only blur the first.
  await sleep(15_000);
  progress(`idle daemons: ${seconds} s, ${watched.map((p) => `${p.name} (pid ${p.daemonPid()})`).join(', ')}`);
  const pids = new Map(watched.map((p) => [p.name, p.daemonPid() as number]));
  const cpu0 = new Map([...pids].map(([k, pid]) => [k, treeCpuMs(pid)]));
  const rss = new Map<string, number[]>([...pids].map(([k]) => [k, []]));
  for (let s = 0; s < seconds; s += 5) {
    for (const [k, pid] of pids) rss.get(k)?.push(treeRssBytes(pid));
    await sleep(5000);
  }
  const cpu = new Map([...pids].map(([k, pid]) => [k, (treeCpuMs(pid) - (cpu0.get(k) ?? 0)) / (seconds * 1000) * 100]));
  const cpuMsUsed = new Map([...pids].map(([k, pid]) => [k, treeCpuMs(pid) - (cpu0.get(k) ?? 0)]));
  const j = cpu.get('jobctl');
  const jr = median(rss.get('jobctl') ?? []) / 1024 / 1024;
  return [
    {
      scenario: 'idle daemon',
      figure: `CPU over ${seconds} s idle (after one job), % of one core`,
      unit: '%',
      values: Object.fromEntries(peers.map((p) => [p.name, pids.has(p.name) ? (cpu.get(p.name) as number) : 'no daemon'])),
      target: '≈ 0 (no polling)',
      pass: j !== undefined && (cpuMsUsed.get('jobctl') ?? Number.POSITIVE_INFINITY) <= 20 * (seconds / 60),
      note: `CPU time used in the window: ${[...cpuMsUsed].map(([k, v]) => `${k} ${v} ms`).join(', ')} (clock ticks of 10 ms; "≈ 0" means at most 20 ms a minute).`,
    },
    {
      scenario: 'idle daemon',
      figure: 'resident memory, daemon + its helper processes (median of samples every 5 s)',
      unit: 'MiB',
      values: Object.fromEntries(peers.map((p) => [p.name, pids.has(p.name) ? median(rss.get(p.name) ?? []) / 1024 / 1024 : 'no daemon'])),
      target: '< 80 MiB',
      pass: jr < 80,
    },
  ];
}
