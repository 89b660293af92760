import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { openCgroupHost } from '../src/cgroup/index.ts';

const comm = (p: number) => { try { return readFileSync(`/proc/${p}/comm`, 'utf8').trim(); } catch { return ''; } };
const info = (p: number) => {
  let s = '';
  try {
    const st = readFileSync(`/proc/${p}/status`, 'utf8').split('\n').filter((l) => /^(Name|State|PPid|SigPnd|ShdPnd|SigBlk|SigIgn|NSpid)/.test(l)).join(' | ');
    s += st;
    s += ' | cg=' + readFileSync(`/proc/${p}/cgroup`, 'utf8').trim();
    s += ' | wchan=' + readFileSync(`/proc/${p}/wchan`, 'utf8');
    s += ' | stat=' + readFileSync(`/proc/${p}/stat`, 'utf8').trim();
  } catch (e) { s += ' gone'; }
  return `${p}: ${s}`;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const trampoline = 'for f do echo $$ > "$f" || exit 111; done; exec /bin/sh -c "$0"';
const scenario = process.argv[2] ?? 'storm';
const rounds = Number(process.argv[3] ?? 10);
const host = openCgroupHost({ instance: 'stress' });
console.log(JSON.stringify(host.capabilities.killMethod), readFileSync('/proc/self/cgroup', 'utf8').trim());
let bad = 0;
for (let i = 0; i < rounds; i++) {
  const job = host.createJob(`job-${i}`, {}, '/tmp')!;
  const script = scenario === 'storm'
    ? `i=0; while [ $i -lt 20 ]; do ( setsid sh -c 'sleep 1000 & sleep 1000' & ); i=$((i+1)); done; exec sleep 1000`
    : scenario === 'sup'
    ? 'for i in 1 2 3 4 5 6 7 8; do ( setsid sh -c "sleep 1000 & echo \\$!; sleep 1000" & ) ; done; echo ready; sleep 1000'
    : '( setsid sleep 1000 & echo $! ); exit 0';
  const child = spawn('/bin/sh', ['-c', trampoline, script, ...job.procsFiles], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  const t0 = Date.now();
  if (scenario === 'storm') {
    let n = 0;
    while (Date.now() - t0 < 60000) { n = job.pids().filter((p) => comm(p) === 'sleep').length; if (n >= 41) break; await sleep(20); }
    console.log(`round ${i}: ${n} sleeps after ${Date.now() - t0} ms; pids ${job.pids().length}`);
  } else if (scenario === 'sup') {
    while (Date.now() - t0 < 60000 && !(out.includes('ready') && out.split('\n').filter((l) => /^\d+$/.test(l)).length === 8)) await sleep(10);
    console.log(`round ${i}: ready after ${Date.now() - t0} ms; pids ${job.pids().length}`);
    job.signal('SIGTERM');
    await job.waitEmpty(300);
  } else {
    await exited;
    console.log(`round ${i}: main exited after ${Date.now() - t0} ms; out=${out.trim()} pids ${job.pids().join(',')}`);
  }
  const before = job.pids();
  try {
    await job.killAll(5000);
    console.log(`  killAll ok (${before.length} before)`);
  } catch (e) {
    bad++;
    console.log(`  KILL FAILED: ${(e as Error).message}`);
    for (const p of job.pids()) console.log('   ', info(p));
    console.log('   events:', readFileSync(job.dirs[0] + '/cgroup.events', 'utf8').replace(/\n/g, ' '));
    for (const p of job.pids()) try { process.kill(p, 'SIGKILL'); } catch {}
    await sleep(500);
    console.log('   after manual SIGKILL:', job.pids().map(info).join('\n'));
  }
  if (scenario === 'main') {
    const pid = Number(out.trim());
    console.log(`  leftover ${pid} alive? ${info(pid)}`);
  }
  await exited;
  await job.remove().catch((e) => console.log('  remove:', e.message));
}
await host.dispose().catch((e) => console.log('dispose', e.message));
console.log(`RESULT ${scenario}: ${bad} bad of ${rounds}`);
