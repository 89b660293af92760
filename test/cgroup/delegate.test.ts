// v2 delegation against a model of the kernel's rules (fixtures.ts kernelModel): the daemon moves
// itself into a leaf when it is alone — before it writes any subtree_control, because a threaded
// controller (cpu, pids) is accepted in a populated cgroup and makes it a thread root whose children
// take no process; with company or without delegation the limits are reported, not crashed on.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { delegateV2 } from '../../src/cgroup/delegate.ts';
import { FAKE_DAEMON_PID, kernelModel, unifiedTree } from './fixtures.ts';
import { readTree, tempDir } from './helpers.ts';

const OWN = 'sys/fs/cgroup/system.slice/jobctl.service';
const INST = 'jobctl-abc';

function setup(t: { after: (fn: () => void) => void }, available: string[], others: number[] = []) {
  const { dir: root, cleanup } = tempDir();
  t.after(cleanup);
  const cgRoot = unifiedTree(root, INST, available, { others });
  const req = {
    ownDir: join(root, OWN),
    ownPath: '/system.slice/jobctl.service',
    instanceDir: join(root, OWN, INST),
    wanted: ['cpu', 'memory', 'pids'] as const,
    pid: FAKE_DAEMON_PID,
  };
  return { root, cgRoot, req };
}

describe('delegateV2', () => {
  test('the model has the kernel\'s trap: "+cpu" into a populated cgroup is accepted and its children take no process', (t) => {
    const { root, cgRoot } = setup(t, ['cpu', 'memory', 'pids']);
    const ops = kernelModel(cgRoot);
    const own = join(root, OWN);
    ops.write(join(own, 'cgroup.subtree_control'), '+cpu');
    assert.equal(readTree(root, `${OWN}/cgroup.type`).trim(), 'domain threaded');
    assert.equal(readTree(root, `${OWN}/${INST}/cgroup.type`).trim(), 'domain invalid');
    assert.throws(() => ops.write(join(own, 'cgroup.subtree_control'), '+memory'), { code: 'ENOTSUP' });
    ops.mkdir(join(own, INST, 'job-1'));
    assert.throws(() => ops.write(join(own, INST, 'job-1', 'cgroup.procs'), '5000009'), { code: 'ENOTSUP' });
  });

  test('alone in its cgroup: moves itself into <instance>/supervisor before any subtree_control write → controllers enabled at both levels', (t) => {
    const { root, cgRoot, req } = setup(t, ['cpu', 'memory', 'pids']);
    const ops = kernelModel(cgRoot);
    const r = delegateV2(req, ops);
    assert.deepEqual(r.failed, new Map());
    assert.deepEqual(r.enabled, ['cpu', 'memory', 'pids']);
    assert.equal(r.supervisorDir, join(root, OWN, INST, 'supervisor'));
    assert.deepEqual(r.enabledAtOwn, ['cpu', 'memory', 'pids']);
    assert.equal(readTree(root, `${OWN}/cgroup.procs`), '', 'the daemon left <own>');
    assert.equal(readTree(root, `${OWN}/${INST}/supervisor/cgroup.procs`).trim(), String(FAKE_DAEMON_PID));
    assert.equal(readTree(root, `${OWN}/${INST}/cgroup.subtree_control`).trim(), 'cpu memory pids');
    // The order the kernel needs: move first (writing "+cpu" first would succeed and make <own> a
    // thread root: the move and every job placement would then fail with EOPNOTSUPP), then <own>, then <instance>.
    assert.deepEqual(ops.writes, [
      `/system.slice/jobctl.service/${INST}/supervisor/cgroup.procs ${FAKE_DAEMON_PID}`,
      ...['cpu', 'memory', 'pids'].map((c) => `/system.slice/jobctl.service/cgroup.subtree_control +${c}`),
      ...['cpu', 'memory', 'pids'].map((c) => `/system.slice/jobctl.service/${INST}/cgroup.subtree_control +${c}`),
    ]);
    assert.equal(readTree(root, `${OWN}/cgroup.type`).trim(), 'domain');
    assert.equal(readTree(root, `${OWN}/${INST}/cgroup.type`).trim(), 'domain', 'job cgroups can take processes');
  });

  test('<own> left a thread root by an earlier run (cpu and pids on, daemon inside): turned off, daemon moved, all enabled', (t) => {
    const { root, cgRoot, req } = setup(t, ['cpu', 'memory', 'pids']);
    const ops = kernelModel(cgRoot);
    ops.write(join(req.ownDir, 'cgroup.subtree_control'), '+cpu +pids');
    assert.equal(readTree(root, `${OWN}/${INST}/cgroup.type`).trim(), 'domain invalid');
    const r = delegateV2(req, ops);
    assert.deepEqual(r.failed, new Map());
    assert.deepEqual(r.enabled, ['cpu', 'memory', 'pids']);
    assert.equal(r.supervisorDir, join(root, OWN, INST, 'supervisor'));
    assert.deepEqual(r.enabledAtOwn, ['cpu', 'memory', 'pids'], 'cpu and pids count as ours now: dispose may turn them off');
    assert.equal(readTree(root, `${OWN}/${INST}/cgroup.type`).trim(), 'domain');
  });

  test('other processes share the cgroup: no move, each limit fails with EBUSY, the pids and a Delegate=yes fix', (t) => {
    const { root, cgRoot, req } = setup(t, ['cpu', 'memory', 'pids'], [5_000_002]);
    const ops = kernelModel(cgRoot);
    const r = delegateV2(req, ops);
    assert.deepEqual(r.enabled, []);
    assert.equal(r.supervisorDir, null);
    assert.deepEqual([...r.failed.keys()], ['cpu', 'memory', 'pids']);
    const f = r.failed.get('memory');
    assert.match(f?.reason ?? '', /memory controller/);
    assert.match(f?.reason ?? '', /EBUSY/);
    assert.match(f?.reason ?? '', /pids 5000002/);
    assert.match(f?.reason ?? '', /\/system\.slice\/jobctl\.service/);
    assert.match(f?.fix ?? '', /Delegate=yes/);
    assert.match(readTree(root, `${OWN}/cgroup.procs`), new RegExp(String(FAKE_DAEMON_PID)), 'the daemon stayed');
    // Not even cpu or pids is tried: the kernel would accept them and break the cgroup for everyone in it.
    assert.deepEqual(ops.writes, []);
    assert.equal(readTree(root, `${OWN}/cgroup.type`).trim(), 'domain');
  });

  test('not delegated (EACCES): reported per controller with a fix, nothing thrown', (t) => {
    const { cgRoot, req } = setup(t, ['cpu', 'memory', 'pids']);
    const r = delegateV2(req, kernelModel(cgRoot, { deny: 'EACCES' }));
    assert.deepEqual(r.enabled, []);
    assert.match(r.failed.get('cpu')?.reason ?? '', /not delegated.*EACCES/);
    assert.match(r.failed.get('cpu')?.fix ?? '', /Delegate=yes/);
  });

  test('a controller the parent does not offer fails alone; the others are enabled', (t) => {
    const { cgRoot, req } = setup(t, ['memory', 'pids']);
    const r = delegateV2(req, kernelModel(cgRoot));
    assert.deepEqual(r.enabled, ['memory', 'pids']);
    assert.match(r.failed.get('cpu')?.reason ?? '', /ENOENT/);
  });

  test('an already enabled <own> (daemon moved earlier) needs no move', (t) => {
    const { root, cgRoot, req } = setup(t, ['cpu', 'memory', 'pids']);
    delegateV2(req, kernelModel(cgRoot));
    const again = delegateV2(req, kernelModel(cgRoot));
    assert.deepEqual(again.enabled, ['cpu', 'memory', 'pids']);
    assert.equal(again.supervisorDir, null);
    assert.deepEqual(again.enabledAtOwn, []);
    assert.match(readTree(root, `${OWN}/${INST}/supervisor/cgroup.procs`), new RegExp(String(FAKE_DAEMON_PID)));
  });
});
