// Log ingest: a job writes SIZE bytes to stdout as fast as it can. The job times itself (a shell
// stamps the clock before and after `head`), so every tool is measured by the same clock at the same
// points, and the physical limit is the same command with `> file` on the same disk. A job's write
// returns only once the tool has taken the bytes out of the pipe, so this is the rate each tool
// sustains.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JobctlPeer, NqPeer, Pm2Peer, TspPeer, type JobRef, type Peer } from './peers.ts';
import { bytes, median, progress, QUICK, runOk, tempDir } from './lib.ts';
import { ratio, type Row } from './report.ts';

/** The job: stamps, SIZE bytes of zeros to stdout (or to `redirect`), stamps. */
function script(dir: string, size: number, redirect = ''): string[] {
  return ['/bin/sh', '-c', `date +%s%N > ${dir}/t0; head -c ${size} /dev/zero${redirect}; date +%s%N > ${dir}/t1`];
}

/** MB/s from the stamps in dir. */
function rateOf(dir: string, size: number): number {
  const t0 = Number(readFileSync(join(dir, 't0'), 'utf8'));
  const t1 = Number(readFileSync(join(dir, 't1'), 'utf8'));
  return size / 1e6 / ((t1 - t0) / 1e9);
}

/** Removes what a finished ingest job left (its stored output) so that disk use stays bounded. */
async function discard(p: Peer, ref: JobRef): Promise<void> {
  if (p instanceof TspPeer) rmSync(await p.outputFile(ref), { force: true });
  else if (p instanceof NqPeer) rmSync(ref.file as string, { force: true });
  else if (p instanceof Pm2Peer) {
    await p.kill(ref);
    rmSync(ref.file as string, { force: true });
  }
}

/** Ingest of SIZE bytes, every tool and `> file`, alternating, median of the rounds. */
export async function ingest(peers: Peer[]): Promise<Row[]> {
  const size = QUICK ? 256 * 1024 * 1024 : 1024 * 1024 * 1024;
  const rounds = QUICK ? 2 : 3;
  const rates = new Map<string, number[]>([['limit', []], ...peers.map((p) => [p.name, []] as [string, number[]])]);
  const stored: number[] = [];
  const storedRates: number[] = [];
  progress(`ingest: ${rounds} rounds × ${bytes(size)} × > file, ${peers.map((p) => p.name).join(', ')}`);
  for (let r = 0; r < rounds; r++) {
    const base = tempDir('cmp-ingest-');
    const [sh, ...args] = script(base, size, ` > ${base}/out`) as [string, ...string[]];
    await runOk(sh, args, { timeoutMs: 600_000 });
    rates.get('limit')?.push(rateOf(base, size));
    rmSync(join(base, 'out'), { force: true });
    for (const p of peers) {
      const dir = tempDir(`cmp-ingest-${p.name}-`);
      const { ref } = await p.submit(script(dir, size));
      await p.wait(ref);
      rates.get(p.name)?.push(rateOf(dir, size));
      if (p instanceof JobctlPeer) {
        const job = JSON.parse((await p.cli(['status', '--json', ref.id])).stdout) as { log: { storedBytes: number }; startedAt: string; endedAt: string };
        stored.push(job.log.storedBytes);
        // Until the last byte was committed (endedAt is set after the writer's final commit).
        storedRates.push(size / 1e6 / ((Date.parse(job.endedAt) - Date.parse(job.startedAt)) / 1000));
      }
      await discard(p, ref);
    }
    progress(`  round ${r + 1}/${rounds}: ${[...rates].map(([k, v]) => `${k} ${Math.round(v.at(-1) ?? 0)} MB/s`).join(', ')}`);
  }
  const med = (k: string): number | undefined => {
    const s = rates.get(k);
    return s && s.length ? median(s) : undefined;
  };
  const j = med('jobctl');
  const limit = med('limit');
  const complete = stored.every((b) => b === size);
  return [
    {
      scenario: 'log ingest',
      figure: `a job writes ${bytes(size)} to stdout (median of ${rounds})`,
      unit: 'MB/s',
      values: { ...Object.fromEntries(peers.map((p) => [p.name, med(p.name) as number])), limit: limit as number },
      limitName: '> file',
      ratio: `jobctl/file ${ratio(j, limit)}${peers.map((p) => (p.name === 'jobctl' ? '' : `; jobctl/${p.name} ${ratio(j, med(p.name))}`)).join('')}`,
      target: '≥ 0.5× of > file',
      pass: j !== undefined && limit !== undefined && j / limit >= 0.5,
      note: `jobctl stored ${complete ? 'every byte' : `only ${stored.join(', ')} bytes`}; including the final commit: ${Math.round(median(storedRates))} MB/s. \`> file\` is one copy into the page cache; jobctl moves every byte through a pipe into the daemon, then SQLite writes it twice (the WAL, then the checkpoint into the database file) — three copies and two page-cache writes for one.`,
    },
  ];
}
