// .vm-scratch/stress.ts
import { spawn } from "node:child_process";
import { readFileSync as readFileSync4 } from "node:fs";

// src/cgroup/host.ts
import { join as join9 } from "node:path";

// src/rpc/errors.ts
var JobctlError = class extends Error {
  code;
  details;
  constructor(code, message, options = {}) {
    super(message, options.cause === void 0 ? void 0 : { cause: options.cause });
    this.name = "JobctlError";
    this.code = code;
    this.details = options.details;
  }
};
function invalidArgument(field, value, accepted) {
  return new JobctlError("INVALID_ARGUMENT", `invalid ${field} ${describeValue(value)}: ${accepted}`, {
    details: { field }
  });
}
function describeValue(value) {
  let text;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === void 0) text = "undefined";
  else if (typeof value === "number" || typeof value === "boolean" || value === null) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// src/cgroup/delegate.ts
import { join as join2 } from "node:path";

// src/cgroup/files.ts
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync, constants } from "node:fs";
import { getSystemErrorMap } from "node:util";
import { join } from "node:path";
function errnoOf(err) {
  const code = err?.code;
  return typeof code === "string" ? code : "unknown error";
}
function describeErrno(err) {
  const errno = err?.errno;
  const text = typeof errno === "number" ? getSystemErrorMap().get(errno)?.[1] : void 0;
  return text ? `${errnoOf(err)} (${text})` : errnoOf(err);
}
function readText(file) {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new JobctlError("INTERNAL", `cannot read ${file}: ${describeErrno(err)}`, { cause: err, details: { file, errno: errnoOf(err) } });
  }
}
function readOptional(file) {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return null;
    throw new JobctlError("INTERNAL", `cannot read ${file}: ${describeErrno(err)}`, { cause: err, details: { file, errno: errnoOf(err) } });
  }
}
function exists(path) {
  return existsSync(path);
}
function writeValue(file, value, limit = null) {
  let fd;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_TRUNC);
    const buf = Buffer.from(value);
    const n = writeSync(fd, buf, 0, buf.length);
    if (n !== buf.length) throw Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: "EIO" });
  } catch (err) {
    const what = limit ? `${limit} limit: ` : "";
    throw new JobctlError(limit ? "LIMIT_UNENFORCEABLE" : "INTERNAL", `${what}failed to write "${value}" to ${file}: ${describeErrno(err)}`, {
      cause: err,
      details: { limit, file, value, errno: errnoOf(err) }
    });
  } finally {
    if (fd !== void 0) closeSync(fd);
  }
}
function applyWrites(writes) {
  for (const w of writes) writeValue(w.file, w.value, w.limit);
}
function parseKeyed(text) {
  const out = /* @__PURE__ */ new Map();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== void 0 && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}
function parseNumber(text, file) {
  const t = text.trim();
  if (t === "max") return Infinity;
  if (!/^-?\d+$/.test(t)) throw new JobctlError("INTERNAL", `unexpected content ${JSON.stringify(t.slice(0, 40))} in ${file}: expected a number`, { details: { file } });
  return Number(t);
}
function readNumber(file) {
  return parseNumber(readText(file), file);
}
function parsePids(text) {
  return text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
}
function readPidsRecursive(dir) {
  const own = readOptional(join(dir, "cgroup.procs"));
  if (own === null) return [];
  const pids = parsePids(own);
  for (const child of subdirs(dir)) pids.push(...readPidsRecursive(join(dir, child)));
  return pids;
}
function subdirs(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return [];
    throw new JobctlError("INTERNAL", `cannot list ${dir}: ${describeErrno(err)}`, { cause: err, details: { file: dir, errno: errnoOf(err) } });
  }
}
function mkdirCgroup(dir) {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if (errnoOf(err) === "EEXIST") return false;
    throw new JobctlError("INTERNAL", `cannot create cgroup ${dir}: ${describeErrno(err)}`, { cause: err, details: { file: dir, errno: errnoOf(err) } });
  }
}
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
function tryRemoveTree(dir) {
  for (const child of subdirs(dir)) {
    const e = tryRemoveTree(join(dir, child));
    if (e) return e;
  }
  try {
    rmdirSync(dir);
    return null;
  } catch (err) {
    const code = errnoOf(err);
    return code === "ENOENT" ? null : code;
  }
}
async function removeCgroupTree(dir, timeoutMs = 2e3) {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (; ; ) {
    const code = tryRemoveTree(dir);
    if (code === null) return;
    if (code !== "EBUSY" || Date.now() >= deadline) {
      const pids = code === "EBUSY" ? readPidsRecursive(dir) : [];
      const still = pids.length > 0 ? ` (processes still in it: ${pids.slice(0, 20).join(", ")})` : "";
      throw new JobctlError("INTERNAL", `cannot remove cgroup ${dir}: ${code}${still}`, { details: { file: dir, errno: code, pids } });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

// src/cgroup/delegate.ts
var SUPERVISOR_DIR = "supervisor";
var kernelOps = {
  write: (file, value) => writeValue(file, value),
  mkdir: (dir) => void mkdirCgroup(dir),
  read: (file) => readText(file)
};
var DELEGATE_FIX = "run the daemon under systemd with Delegate=yes (`jobctl service install`), or start it with `systemd-run --scope -p Delegate=yes jobctl daemon`";
function errnoFrom(err) {
  const details = err?.details;
  return typeof details?.errno === "string" ? details.errno : errnoOf(err);
}
function explain(c, file, ownPath, errno, others = []) {
  if (errno === "EBUSY") {
    const who = others.length > 0 ? ` (pids ${others.slice(0, 5).join(", ")}${others.length > 5 ? ", \u2026" : ""})` : "";
    return {
      reason: `cannot enable the cgroup v2 ${c} controller in ${file}: EBUSY \u2014 other processes${who} share the daemon's cgroup ${ownPath}, and a v2 cgroup with processes cannot hand controllers to its children`,
      fix: `give the daemon a cgroup of its own: ${DELEGATE_FIX}`
    };
  }
  if (errno === "EACCES" || errno === "EPERM" || errno === "EROFS") {
    return {
      reason: `cgroup v2 ${c} controller not delegated to ${ownPath}: writing "+${c}" to ${file} failed with ${errno}`,
      fix: DELEGATE_FIX
    };
  }
  return {
    reason: `cannot enable the cgroup v2 ${c} controller: writing "+${c}" to ${file} failed with ${errno}`,
    fix: `check that the kernel supports the ${c} controller on cgroup v2, or ${DELEGATE_FIX}`
  };
}
function delegateV2(req, ops = kernelOps) {
  const failed = /* @__PURE__ */ new Map();
  const ownSub = join2(req.ownDir, "cgroup.subtree_control");
  const instSub = join2(req.instanceDir, "cgroup.subtree_control");
  const before = new Set(readList(ops, ownSub));
  let supervisorDir = null;
  let moveError = null;
  const others = parsePidList(readOr(ops, join2(req.ownDir, "cgroup.procs"))).filter((p) => p !== req.pid);
  const moveSelf = () => {
    if (supervisorDir) return true;
    if (moveError) return false;
    const dir = join2(req.instanceDir, SUPERVISOR_DIR);
    const procs = join2(dir, "cgroup.procs");
    try {
      ops.mkdir(dir);
      ops.write(procs, String(req.pid));
      supervisorDir = dir;
      return true;
    } catch (err) {
      moveError = {
        reason: `cannot move the daemon (pid ${req.pid}) into its own leaf cgroup: writing ${procs} failed with ${errnoFrom(err)}`,
        fix: DELEGATE_FIX
      };
      return false;
    }
  };
  for (const c of req.wanted) {
    try {
      ops.write(ownSub, `+${c}`);
    } catch (err) {
      let errno = errnoFrom(err);
      if (errno === "EBUSY" && others.length === 0) {
        if (!moveSelf()) {
          failed.set(c, moveError ?? explain(c, ownSub, req.ownPath, errno));
          continue;
        }
        try {
          ops.write(ownSub, `+${c}`);
          continue;
        } catch (err2) {
          errno = errnoFrom(err2);
        }
      }
      failed.set(c, explain(c, ownSub, req.ownPath, errno, others));
    }
  }
  for (const c of req.wanted) {
    if (failed.has(c)) continue;
    try {
      ops.write(instSub, `+${c}`);
    } catch (err) {
      failed.set(c, explain(c, instSub, req.ownPath, errnoFrom(err)));
    }
  }
  const now = new Set(readList(ops, instSub));
  const enabled = req.wanted.filter((c) => !failed.has(c) && now.has(c));
  for (const c of req.wanted) {
    if (!failed.has(c) && !now.has(c)) {
      failed.set(c, { reason: `the cgroup v2 ${c} controller is not listed in ${instSub} after enabling it`, fix: DELEGATE_FIX });
    }
  }
  const after = new Set(readList(ops, ownSub));
  const enabledAtOwn = req.wanted.filter((c) => after.has(c) && !before.has(c));
  return { enabled, failed, supervisorDir, enabledAtOwn };
}
function readOr(ops, file) {
  try {
    return ops.read(file);
  } catch {
    return "";
  }
}
function readList(ops, file) {
  return readOr(ops, file).trim().split(/\s+/).filter((c) => c !== "");
}
function parsePidList(text) {
  return text.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
}

// src/cgroup/device.ts
import { readFileSync as readFileSync2, realpathSync, statSync } from "node:fs";
import { dirname, join as join3 } from "node:path";

// src/cgroup/mountinfo.ts
function unescapeMountField(field) {
  return field.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)));
}
function parseMountinfo(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0 || fields.length < dash + 3) continue;
    const [id, parentId, devno, root, mountPoint, options] = fields;
    const dev = /^(\d+):(\d+)$/.exec(devno ?? "");
    if (id === void 0 || parentId === void 0 || root === void 0 || mountPoint === void 0 || !dev) continue;
    out.push({
      id: Number(id),
      parentId: Number(parentId),
      major: Number(dev[1]),
      minor: Number(dev[2]),
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      options: (options ?? "").split(","),
      fsType: unescapeMountField(fields[dash + 1] ?? ""),
      source: unescapeMountField(fields[dash + 2] ?? ""),
      superOptions: (fields[dash + 3] ?? "").split(",").filter((o) => o !== "")
    });
  }
  return out;
}
function parseProcCgroup(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = first < 0 ? -1 : line.indexOf(":", first + 1);
    if (second < 0) continue;
    const id = line.slice(0, first);
    if (!/^\d+$/.test(id)) continue;
    const list = line.slice(first + 1, second);
    out.push({
      hierarchyId: Number(id),
      controllers: list === "" ? [] : list.split(","),
      path: line.slice(second + 1)
    });
  }
  return out;
}

// src/cgroup/device.ts
function decodeDev(dev) {
  const major = Number(dev >> 8n & 0xfffn | dev >> 32n & ~0xfffn);
  const minor = Number(dev & 0xffn | dev >> 12n & ~0xffn);
  return { major, minor };
}
function parseDeviceNumber(text) {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}
function wholeDisk(root, dev) {
  const sys = join3(root, "sys/dev/block", `${dev.major}:${dev.minor}`);
  if (!exists(sys)) return null;
  if (!exists(join3(sys, "partition"))) return dev;
  try {
    return parseDeviceNumber(readFileSync2(join3(dirname(realpathSync(sys)), "dev"), "utf8"));
  } catch {
    return null;
  }
}
function diskForPath(root, cwd, mountinfo) {
  let dev;
  try {
    const st = statSync(cwd, { bigint: true });
    if (!st.isDirectory()) throw invalidArgument("cwd", cwd, "a directory on the daemon host");
    dev = decodeDev(st.dev);
  } catch (err) {
    if (err instanceof Error && err.name === "JobctlError") throw err;
    throw invalidArgument("cwd", cwd, "an existing directory on the daemon host");
  }
  const direct = wholeDisk(root, dev);
  if (direct) return { ok: true, disk: direct, device: dev };
  const mount = parseMountinfo(mountinfo).filter((m) => m.major === dev.major && m.minor === dev.minor).at(-1);
  if (mount && mount.source.startsWith("/")) {
    try {
      const src = statSync(join3(root, mount.source), { bigint: true });
      if (src.isBlockDevice()) {
        const disk = wholeDisk(root, decodeDev(src.rdev));
        if (disk) return { ok: true, disk, device: dev };
      }
    } catch {
    }
  }
  const fsType = mount?.fsType ?? null;
  return {
    ok: false,
    device: dev,
    fsType,
    reason: `the filesystem holding cwd ${JSON.stringify(cwd)} is ${fsType ?? "of unknown type"} (device ${dev.major}:${dev.minor}), which has no block device to throttle`
  };
}

// src/cgroup/kill.ts
import { readFileSync as readFileSync3, watch } from "node:fs";
import { join as join6 } from "node:path";

// src/cgroup/v1.ts
import { join as join4 } from "node:path";

// src/rpc/model.ts
var LIMIT_NAMES = ["cpu", "memory", "pids", "ioRead", "ioWrite"];

// src/cgroup/limits.ts
var CFS_PERIOD_US = 1e5;
var MIN_CFS_QUOTA_US = 1e3;
var MAX_PIDS = 4194304;
function cpuQuotaUs(cpus) {
  return Math.max(MIN_CFS_QUOTA_US, Math.round(cpus * CFS_PERIOD_US));
}
function requestedLimits(limits) {
  return LIMIT_NAMES.filter((n) => limits[n] !== void 0);
}
function validateLimits(limits) {
  if (limits === null || typeof limits !== "object") throw invalidArgument("limits", limits, 'an object such as {"memory": 268435456}');
  for (const key of Object.keys(limits)) {
    if (!LIMIT_NAMES.includes(key)) throw invalidArgument("limits", key, `a limit name, one of ${LIMIT_NAMES.join(", ")}`);
  }
  for (const name of LIMIT_NAMES) {
    const v = limits[name];
    if (v === void 0) continue;
    const field = `limits.${name}`;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw invalidArgument(field, v, name === "cpu" ? "a positive number of cores, e.g. 0.5" : "a positive whole number");
    }
    if (name !== "cpu" && !Number.isSafeInteger(v)) throw invalidArgument(field, v, "a positive whole number");
    if (name === "pids" && v > MAX_PIDS) throw invalidArgument(field, v, `at most ${MAX_PIDS} (the kernel's PID_MAX_LIMIT)`);
    if (name === "cpu" && v > 1e6) throw invalidArgument(field, v, "at most 1000000 cores");
  }
}

// src/cgroup/v1.ts
function cpuWrites(dir, cpus) {
  return [
    { file: join4(dir, "cpu.cfs_period_us"), value: String(CFS_PERIOD_US), limit: "cpu" },
    { file: join4(dir, "cpu.cfs_quota_us"), value: String(cpuQuotaUs(cpus)), limit: "cpu" }
  ];
}
function memoryWrites(dir, bytes, hostHasSwap) {
  const writes = [{ file: join4(dir, "memory.limit_in_bytes"), value: String(bytes), limit: "memory" }];
  const memsw = join4(dir, "memory.memsw.limit_in_bytes");
  if (exists(memsw)) writes.push({ file: memsw, value: String(bytes), limit: "memory" });
  else if (hostHasSwap) writes.push({ file: join4(dir, "memory.swappiness"), value: "0", limit: "memory" });
  return writes;
}
function pidsWrites(dir, max) {
  return [{ file: join4(dir, "pids.max"), value: String(max), limit: "pids" }];
}
function blkioReadWrites(dir, disk, bytesPerSecond) {
  return [{ file: join4(dir, "blkio.throttle.read_bps_device"), value: `${disk.major}:${disk.minor} ${bytesPerSecond}`, limit: "ioRead" }];
}
function cpuUsageUsec(dir) {
  return Math.floor(readNumber(join4(dir, "cpuacct.usage")) / 1e3);
}
function memoryUsage(dir) {
  return { current: readNumber(join4(dir, "memory.usage_in_bytes")), peak: readNumber(join4(dir, "memory.max_usage_in_bytes")) };
}
function oomKills(dir) {
  return parseKeyed(readText(join4(dir, "memory.oom_control"))).get("oom_kill") ?? 0;
}
function pidsCurrent(dir) {
  return readNumber(join4(dir, "pids.current"));
}
function setFreezer(dir, state) {
  writeValue(join4(dir, "freezer.state"), state);
}
function freezerState(dir) {
  return readText(join4(dir, "freezer.state")).trim();
}

// src/cgroup/v2.ts
import { join as join5 } from "node:path";
function cpuWrites2(dir, cpus) {
  return [{ file: join5(dir, "cpu.max"), value: `${cpuQuotaUs(cpus)} ${CFS_PERIOD_US}`, limit: "cpu" }];
}
function memoryWrites2(dir, bytes) {
  const writes = [{ file: join5(dir, "memory.max"), value: String(bytes), limit: "memory" }];
  const swap = join5(dir, "memory.swap.max");
  if (exists(swap)) writes.push({ file: swap, value: "0", limit: "memory" });
  const group = join5(dir, "memory.oom.group");
  if (exists(group)) writes.push({ file: group, value: "1", limit: "memory" });
  return writes;
}
function pidsWrites2(dir, max) {
  return [{ file: join5(dir, "pids.max"), value: String(max), limit: "pids" }];
}
function ioWrites(dir, disk, io) {
  const parts = [`${disk.major}:${disk.minor}`];
  if (io.read !== void 0) parts.push(`rbps=${io.read}`);
  if (io.write !== void 0) parts.push(`wbps=${io.write}`);
  if (parts.length === 1) return [];
  return [{ file: join5(dir, "io.max"), value: parts.join(" "), limit: io.read !== void 0 ? "ioRead" : "ioWrite" }];
}
function cpuUsageUsec2(dir) {
  return parseKeyed(readText(join5(dir, "cpu.stat"))).get("usage_usec") ?? 0;
}
function memoryUsage2(dir) {
  const peak = readOptional(join5(dir, "memory.peak"));
  return { current: readNumber(join5(dir, "memory.current")), peak: peak === null ? null : Number(peak.trim()) };
}
function oomKills2(dir) {
  const ev = parseKeyed(readText(join5(dir, "memory.events")));
  return Math.max(ev.get("oom_kill") ?? 0, ev.get("oom_group_kill") ?? 0);
}
function pidsCurrent2(dir) {
  return readNumber(join5(dir, "pids.current"));
}
function events(dir) {
  const ev = parseKeyed(readText(join5(dir, "cgroup.events")));
  return { populated: ev.get("populated") === 1, frozen: ev.get("frozen") === 1 };
}
function kill(dir) {
  writeValue(join5(dir, "cgroup.kill"), "1");
}
function setFrozen(dir, frozen) {
  writeValue(join5(dir, "cgroup.freeze"), frozen ? "1" : "0");
}
function subtreeControl(dir) {
  return readText(join5(dir, "cgroup.subtree_control")).trim().split(/\s+/).filter((c) => c !== "");
}
function controllers(dir) {
  return (readOptional(join5(dir, "cgroup.controllers")) ?? "").trim().split(/\s+/).filter((c) => c !== "");
}

// src/cgroup/kill.ts
var MAX_POLL_MS = { 1: 200, 2: 1e3 };
function jobPids(job) {
  const set = /* @__PURE__ */ new Set();
  for (const dir of job.dirs) for (const pid of readPidsRecursive(dir)) set.add(pid);
  return [...set].sort((a, b) => a - b);
}
function signalPids(pids, sig) {
  let n = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
      n++;
    } catch (err) {
      const code = err.code;
      if (code !== "ESRCH") throw new JobctlError("INTERNAL", `cannot send ${sig} to pid ${pid}: ${code ?? String(err)}`, { cause: err, details: { pid, signal: sig } });
    }
  }
  return n;
}
function isEmpty(job) {
  if (job.track?.version === 2) {
    const events2 = join6(job.track.dir, "cgroup.events");
    if (exists(events2) && events(job.track.dir).populated) return false;
  }
  return jobPids(job).length === 0;
}
function waitEmpty(job, timeoutMs = Infinity) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    let done = false;
    let timer;
    let watcher;
    let delay = 1;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      watcher?.close();
      if (value instanceof Error) reject(value);
      else resolve(value);
    };
    const check = () => {
      if (done) return;
      clearTimeout(timer);
      try {
        if (isEmpty(job)) return finish(true);
      } catch (err) {
        return finish(err instanceof Error ? err : new Error(String(err)));
      }
      const left = deadline - Date.now();
      if (left <= 0) return finish(false);
      timer = setTimeout(check, Math.min(delay, left));
      delay = Math.min(delay * 2, MAX_POLL_MS[job.track?.version ?? 1]);
    };
    if (job.track?.version === 2) {
      try {
        watcher = watch(join6(job.track.dir, "cgroup.events"), () => check());
        watcher.on("error", () => void 0);
      } catch {
        watcher = void 0;
      }
    }
    check();
  });
}
function describePid(pid) {
  try {
    const stat = readFileSync3(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm2 = stat.slice(stat.indexOf("(") + 1, close);
    const state = stat.slice(close + 2, close + 3);
    return `${pid} (${comm2}, state ${state})`;
  } catch {
    return String(pid);
  }
}
function survivorsError(job, timeoutMs, method) {
  const pids = jobPids(job);
  const shown = pids.slice(0, 20).map(describePid).join(", ");
  const more = pids.length > 20 ? ` and ${pids.length - 20} more` : "";
  return new JobctlError(
    "INTERNAL",
    `${job.key}: ${pids.length} process(es) survived ${method} for ${timeoutMs} ms: ${shown}${more}; a task in state D (uninterruptible I/O) dies only when its I/O completes`,
    { details: { job: job.key, pids, method } }
  );
}
async function killLoop(job, deadline) {
  let delay = 1;
  for (; ; ) {
    const pids = jobPids(job);
    if (pids.length === 0 && isEmpty(job)) return true;
    signalPids(pids, "SIGKILL");
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 2, 20);
  }
}
async function pollUntil(cond, deadline) {
  let delay = 1;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    delay = Math.min(delay * 2, 20);
  }
  return true;
}
async function killFrozenV1(job, freezerDir, deadline) {
  for (; ; ) {
    setFreezer(freezerDir, "FROZEN");
    try {
      await pollUntil(() => freezerState(freezerDir) === "FROZEN", Math.min(deadline, Date.now() + 1e3));
      signalPids(jobPids(job), "SIGKILL");
    } finally {
      setFreezer(freezerDir, "THAWED");
    }
    if (await waitEmpty(job, Math.min(500, Math.max(0, deadline - Date.now())))) return true;
    if (Date.now() >= deadline) return false;
  }
}
async function killFrozenV2(job, dir, deadline) {
  setFrozen(dir, true);
  try {
    await pollUntil(() => events(dir).frozen, Math.min(deadline, Date.now() + 1e3));
    return await killLoop(job, deadline);
  } finally {
    if (exists(join6(dir, "cgroup.freeze"))) setFrozen(dir, false);
  }
}
async function killAll(job, timeoutMs = 5e3) {
  const deadline = Date.now() + timeoutMs;
  if (isEmpty(job)) return;
  let ok;
  const track = job.track;
  if (job.killMethod === "cgroup.kill" && track?.version === 2 && exists(join6(track.dir, "cgroup.kill"))) {
    kill(track.dir);
    ok = await waitEmpty(job, Math.max(0, deadline - Date.now()));
  } else if (job.killMethod === "freezer" && job.freezerV1) {
    ok = await killFrozenV1(job, job.freezerV1, deadline);
  } else if (job.killMethod === "freezer" && track?.version === 2 && exists(join6(track.dir, "cgroup.freeze"))) {
    ok = await killFrozenV2(job, track.dir, deadline);
  } else {
    ok = await killLoop(job, deadline);
  }
  if (!ok) throw survivorsError(job, timeoutMs, job.killMethod);
}

// src/cgroup/job.ts
var CgroupJob = class {
  procsFiles;
  dirs;
  #spec;
  constructor(spec) {
    this.#spec = spec;
    this.procsFiles = [...spec.procsFiles];
    this.dirs = [...spec.dirs];
  }
  /** The job key the cgroup is named after. */
  get key() {
    return this.#spec.key;
  }
  stats() {
    const { cpuUsage, memory, pidsCounter } = this.#spec;
    let cpuUsec = 0;
    if (cpuUsage) cpuUsec = cpuUsage.version === 1 ? cpuUsageUsec(cpuUsage.dir) : cpuUsageUsec2(cpuUsage.dir);
    let memoryBytes = 0;
    let memoryPeakBytes = null;
    let oomKills3 = 0;
    if (memory) {
      const m = memory.version === 1 ? memoryUsage(memory.dir) : memoryUsage2(memory.dir);
      memoryBytes = m.current;
      memoryPeakBytes = m.peak;
      oomKills3 = memory.version === 1 ? oomKills(memory.dir) : oomKills2(memory.dir);
    }
    const pids = pidsCounter ? pidsCounter.version === 1 ? pidsCurrent(pidsCounter.dir) : pidsCurrent2(pidsCounter.dir) : this.pids().length;
    return { cpuUsec, memoryBytes, memoryPeakBytes, pids, oomKills: oomKills3 };
  }
  pids() {
    return jobPids(this.#spec);
  }
  signal(sig) {
    return signalPids(this.pids(), sig);
  }
  killAll(timeoutMs = 5e3) {
    return killAll(this.#spec, timeoutMs);
  }
  waitEmpty(timeoutMs) {
    return waitEmpty(this.#spec, timeoutMs);
  }
  /** Removes every directory (all are tried; the first failure is thrown after). */
  async remove() {
    const errors = [];
    for (const dir of this.dirs) {
      try {
        await removeCgroupTree(dir);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) {
      const msg = errors.map((e) => e instanceof Error ? e.message : String(e)).join("; ");
      throw new JobctlError("INTERNAL", `${this.#spec.key}: ${errors.length} cgroup directories could not be removed: ${msg}`, { cause: errors[0] });
    }
  }
};

// src/cgroup/probe.ts
import { join as join8, posix as posix2 } from "node:path";

// src/cgroup/layout.ts
import { posix } from "node:path";
var V1_CONTROLLERS = /* @__PURE__ */ new Set([
  "cpuset",
  "cpu",
  "cpuacct",
  "blkio",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "perf_event",
  "net_prio",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
  "debug"
]);
var LIMIT_CONTROLLERS = ["cpu", "memory", "pids", "io"];
function v1Name(c) {
  return c === "io" ? "blkio" : c;
}
function joinDir(mountPoint, rel) {
  return rel === "" || rel === "/" ? mountPoint : posix.join(mountPoint, rel);
}
function relativeToRoot(ownPath, mountRoot) {
  if (mountRoot === "/") return ownPath;
  if (ownPath === mountRoot) return "/";
  if (ownPath.startsWith(mountRoot + "/")) return ownPath.slice(mountRoot.length);
  return null;
}
function v1Keys(m) {
  return m.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith("name=")).sort();
}
function pickMount(mounts, ownPath) {
  const usable = mounts.filter((m) => relativeToRoot(ownPath, m.root) !== null);
  usable.sort((a, b) => a.root.length - b.root.length || Number(!a.mountPoint.startsWith("/sys/fs/cgroup")) - Number(!b.mountPoint.startsWith("/sys/fs/cgroup")));
  return usable[0] ?? null;
}
function detectLayout(mountinfo, procSelfCgroup) {
  const mounts = parseMountinfo(mountinfo);
  const entries = parseProcCgroup(procSelfCgroup);
  const hierarchies = [];
  const warnings = [];
  const v1Mounts = /* @__PURE__ */ new Map();
  for (const m of mounts) {
    if (m.fsType !== "cgroup") continue;
    const keys = v1Keys(m);
    if (keys.length === 0) continue;
    const id = keys.join(",");
    v1Mounts.set(id, [...v1Mounts.get(id) ?? [], m]);
  }
  for (const [id, ms] of v1Mounts) {
    const entry = entries.find((e) => e.hierarchyId !== 0 && [...e.controllers].sort().join(",") === id);
    if (!entry) {
      warnings.push(`cgroup v1 hierarchy ${id} is mounted at ${ms[0]?.mountPoint} but /proc/self/cgroup has no line for it; not used`);
      continue;
    }
    const m = pickMount(ms, entry.path);
    if (!m) {
      warnings.push(`cgroup v1 ${id}: own cgroup ${entry.path} is outside the mounted part ${ms.map((x) => x.root).join(", ")} at ${ms.map((x) => x.mountPoint).join(", ")}; not used`);
      continue;
    }
    hierarchies.push({
      version: 1,
      mountPoint: m.mountPoint,
      mountRoot: m.root,
      controllers: id.split(","),
      ownPath: entry.path,
      ownDir: joinDir(m.mountPoint, relativeToRoot(entry.path, m.root) ?? "/")
    });
  }
  const v2Mounts = mounts.filter((m) => m.fsType === "cgroup2");
  if (v2Mounts.length > 0) {
    const entry = entries.find((e) => e.hierarchyId === 0 && e.controllers.length === 0);
    const m = entry ? pickMount(v2Mounts, entry.path) : null;
    if (!entry) warnings.push(`cgroup2 is mounted at ${v2Mounts[0]?.mountPoint} but /proc/self/cgroup has no "0::" line; not used`);
    else if (!m) warnings.push(`cgroup2: own cgroup ${entry.path} is outside the mounted part ${v2Mounts.map((x) => x.root).join(", ")}; not used`);
    else {
      hierarchies.push({
        version: 2,
        mountPoint: m.mountPoint,
        mountRoot: m.root,
        controllers: [],
        ownPath: entry.path,
        ownDir: joinDir(m.mountPoint, relativeToRoot(entry.path, m.root) ?? "/")
      });
    }
  }
  const hasV1 = hierarchies.some((h) => h.version === 1 && h.controllers.some((c) => V1_CONTROLLERS.has(c)));
  const hasV2 = hierarchies.some((h) => h.version === 2);
  const kind = hasV1 && hasV2 ? "hybrid" : hasV2 ? "unified" : hasV1 ? "legacy" : "none";
  return { kind, hierarchies, warnings };
}
function chooseBackends(layout, v2Controllers) {
  const v2 = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const v1 = (name) => layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(name)) ?? null;
  const pick = (c) => {
    if (v2 && v2Controllers.includes(c)) return { version: 2, hierarchy: v2 };
    const h = v1(v1Name(c));
    return h ? { version: 1, hierarchy: h } : null;
  };
  const cpu = pick("cpu");
  const memory = pick("memory");
  const pids = pick("pids");
  const io = pick("io");
  const cpuacct = v1("cpuacct");
  const cpuUsage = cpu?.version === 2 ? cpu : cpuacct ? { version: 1, hierarchy: cpuacct } : v2 ? { version: 2, hierarchy: v2 } : null;
  const track = v2 ?? v1("freezer") ?? v1("pids") ?? v1("memory") ?? v1("cpuacct") ?? v1("cpu") ?? v1("blkio");
  const v2Wanted = LIMIT_CONTROLLERS.filter((c) => ({ cpu, memory, pids, io })[c]?.version === 2);
  return { track, cpu, memory, pids, io, cpuUsage, freezer: v1("freezer"), v2Wanted };
}

// src/cgroup/support.ts
import { join as join7 } from "node:path";
var PERMISSION_FIX = "run the daemon as root, or under systemd with Delegate=yes (`jobctl service install`)";
var V1_FILE = { cpu: "cpu.cfs_quota_us", memory: "memory.limit_in_bytes", pids: "pids.max", io: "blkio.throttle.read_bps_device" };
var V2_FILE = { cpu: "cpu.max", memory: "memory.max", pids: "pids.max", io: "io.max" };
var KCONFIG = { cpu: "CONFIG_CFS_BANDWIDTH", memory: "CONFIG_MEMCG", pids: "CONFIG_CGROUP_PIDS", io: "CONFIG_BLK_DEV_THROTTLING" };
function no(reason, fix) {
  return { enforceable: false, via: null, reason, fix };
}
function limitSupport(input) {
  const { layout, plan, delegation, use, instanceDir: instanceDir2 } = input;
  const v2h = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const enforce = { cpu: null, memory: null, pids: null, io: null };
  const supportOf = (c) => {
    const b = plan[c];
    if (layout.kind === "none") {
      return no("no cgroup hierarchy is mounted (no cgroup or cgroup2 entry in /proc/self/mountinfo)", "mount cgroup2 on /sys/fs/cgroup (systemd does this), then restart the daemon");
    }
    if (!b) {
      const name = v1Name(c);
      if (v2h) {
        return no(
          `cgroup v2 ${c} controller not available to the daemon's cgroup ${v2h.ownPath} (not in ${join7(v2h.ownDir, "cgroup.controllers")})${layout.kind === "hybrid" ? ` and no cgroup v1 ${name} hierarchy is mounted` : ""}`,
          `delegate it: run the daemon under systemd with Delegate=yes (\`jobctl service install\`), or enable "+${c}" in the parent cgroup's cgroup.subtree_control`
        );
      }
      return no(`no cgroup v1 hierarchy with the ${name} controller is mounted`, `mount it (mount -t cgroup -o ${name} cgroup /sys/fs/cgroup/${name}) or use a host with cgroup v2`);
    }
    if (!use(b.hierarchy)) return no(input.unusableReason(b.hierarchy) ?? "cannot create cgroups", PERMISSION_FIX);
    const inst = instanceDir2(b.hierarchy);
    if (b.version === 2) {
      const failure = delegation?.failed.get(c);
      if (failure) return no(failure.reason, failure.fix);
      if (!delegation?.enabled.includes(c)) return no(`cgroup v2 ${c} controller could not be enabled in ${join7(inst, "cgroup.subtree_control")}`, PERMISSION_FIX);
      if (!exists(join7(inst, V2_FILE[c]))) return no(`${join7(inst, V2_FILE[c])} is missing`, `use a kernel built with ${KCONFIG[c]}`);
      enforce[c] = b;
      return { enforceable: true, via: `cgroup v2 ${V2_FILE[c]} under ${inst}`, reason: null, fix: null };
    }
    const file = join7(inst, V1_FILE[c]);
    if (!exists(file)) return no(`${file} is missing: the kernel lacks ${KCONFIG[c]}`, `use a kernel built with ${KCONFIG[c]}, or a host with cgroup v2`);
    enforce[c] = b;
    const files = c === "cpu" ? "cpu.cfs_period_us + cpu.cfs_quota_us" : c === "memory" ? exists(join7(inst, "memory.memsw.limit_in_bytes")) ? "memory.limit_in_bytes + memory.memsw.limit_in_bytes" : "memory.limit_in_bytes" : V1_FILE[c];
    return { enforceable: true, via: `cgroup v1 ${files} under ${inst}`, reason: null, fix: null };
  };
  const cpu = supportOf("cpu");
  const memory = supportOf("memory");
  const pids = supportOf("pids");
  const ioRead = supportOf("io");
  const ioWrite = ioRead.enforceable && enforce.io?.version === 1 ? no(
    "cgroup v1 blkio does not throttle buffered writeback (measured: 80 MB/s escaped a 5 MiB/s limit), so a write limit would not hold",
    "run jobctl on a host with cgroup v2 (the unified hierarchy; systemd.unified_cgroup_hierarchy=1 on the kernel command line), or drop --io-write"
  ) : { ...ioRead };
  return { limits: { cpu, memory, pids, ioRead, ioWrite }, enforce };
}

// src/cgroup/probe.ts
function instanceDir(h, instance) {
  return join8(h.ownDir, instance);
}
function hasSwap(root) {
  const text = readOptional(join8(root, "proc/swaps"));
  return text !== null && text.trim().split("\n").length > 1;
}
function rootedLayout(layout, root, instance) {
  const hierarchies = layout.hierarchies.map((h) => {
    let { ownPath, ownDir } = h;
    const suffix = `/${instance}/${SUPERVISOR_DIR}`;
    if (h.version === 2 && ownPath.endsWith(suffix)) {
      ownPath = ownPath.slice(0, -suffix.length) || "/";
      ownDir = posix2.dirname(posix2.dirname(ownDir));
    }
    return { ...h, ownPath, ownDir: join8(root, ownDir) };
  });
  return { ...layout, hierarchies };
}
function probeHost(root, instance, pid, ops = kernelOps) {
  const mountinfo = readOptional(join8(root, "proc/self/mountinfo"));
  const procCgroup = readOptional(join8(root, "proc/self/cgroup"));
  const warnings = [];
  if (mountinfo === null || procCgroup === null) warnings.push(`cannot read ${join8(root, "proc/self/mountinfo")} or ${join8(root, "proc/self/cgroup")}: no cgroup support`);
  const layout = rootedLayout(detectLayout(mountinfo ?? "", procCgroup ?? ""), root, instance);
  warnings.push(...layout.warnings);
  const v2h = layout.hierarchies.find((h) => h.version === 2) ?? null;
  const v2Available = v2h ? controllers(v2h.ownDir) : [];
  const plan = chooseBackends(layout, v2Available);
  const usable = /* @__PURE__ */ new Set();
  const unusable = /* @__PURE__ */ new Map();
  const use = (h) => {
    if (!h) return false;
    if (usable.has(h)) return true;
    if (unusable.has(h)) return false;
    try {
      mkdirCgroup(instanceDir(h, instance));
      usable.add(h);
      return true;
    } catch (err) {
      unusable.set(h, err instanceof Error ? err.message : String(err));
      return false;
    }
  };
  const v1 = (name) => layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(name)) ?? null;
  const trackCandidates = [v2h, v1("freezer"), v1("pids"), v1("memory"), v1("cpuacct"), v1("cpu"), v1("blkio")];
  const track = trackCandidates.find((h) => use(h)) ?? null;
  let delegation = null;
  if (v2h && plan.v2Wanted.length > 0 && use(v2h)) {
    delegation = delegateV2({ ownDir: v2h.ownDir, ownPath: v2h.ownPath, instanceDir: instanceDir(v2h, instance), wanted: plan.v2Wanted, pid }, ops);
  }
  let killMethod = "process-group";
  let freezerV1 = null;
  const trackInst = track ? instanceDir(track, instance) : null;
  if (track?.version === 2 && trackInst && exists(join8(trackInst, "cgroup.kill"))) killMethod = "cgroup.kill";
  else if (track?.version === 2 && trackInst && exists(join8(trackInst, "cgroup.freeze"))) killMethod = "freezer";
  else if (plan.freezer && use(plan.freezer)) {
    killMethod = "freezer";
    freezerV1 = plan.freezer;
  } else if (track) killMethod = "kill-loop";
  const { limits, enforce } = limitSupport({
    layout,
    plan,
    delegation,
    use,
    unusableReason: (h) => unusable.get(h),
    instanceDir: (h) => instanceDir(h, instance)
  });
  const usableBackend = (b, controller, file) => {
    if (!b || !use(b.hierarchy)) return null;
    if (b.version === 2 && controller && !delegation?.enabled.includes(controller)) return null;
    return exists(join8(instanceDir(b.hierarchy, instance), file)) ? b : null;
  };
  const cpuUsage = usableBackend(plan.cpuUsage, null, plan.cpuUsage?.version === 1 ? "cpuacct.usage" : "cpu.stat");
  const memoryStats = usableBackend(plan.memory, "memory", plan.memory?.version === 1 ? "memory.usage_in_bytes" : "memory.current");
  const pidsStats = usableBackend(plan.pids, "pids", "pids.current");
  const oomFile = memoryStats ? join8(instanceDir(memoryStats.hierarchy, instance), memoryStats.version === 1 ? "memory.oom_control" : "memory.events") : null;
  const oomDetection = oomFile !== null && /\boom_kill\b/.test(readOptional(oomFile) ?? "");
  const hostHasSwap = hasSwap(root);
  if (hostHasSwap && enforce.memory) {
    const inst = instanceDir(enforce.memory.hierarchy, instance);
    if (enforce.memory.version === 1 && !exists(join8(inst, "memory.memsw.limit_in_bytes"))) {
      warnings.push("memory: swap accounting off (no memory.memsw.limit_in_bytes); swap could be used beyond the limit (jobs get memory.swappiness=0); fix: boot with swapaccount=1");
    }
    if (enforce.memory.version === 2 && !exists(join8(inst, "memory.swap.max"))) {
      warnings.push("memory: swap accounting off (no memory.swap.max); swap could be used beyond the limit; fix: a kernel with CONFIG_MEMCG_SWAP (swapaccount=1)");
    }
  }
  if (killMethod === "kill-loop") warnings.push("no cgroup.kill or freezer: jobs are stopped by a SIGKILL loop over cgroup.procs, which ends only if forking is bounded \u2014 set a pids limit");
  if (killMethod === "process-group") warnings.push("no usable cgroup: jobs run in a process group; processes that call setsid escape stop, and no limit can be enforced");
  for (const [h, why] of unusable) warnings.push(`cgroup v${h.version} ${h.controllers.join(",") || "unified"} not usable: ${why}`);
  const capabilities = {
    layout: layout.kind,
    hierarchies: layout.hierarchies.map((h) => ({
      version: h.version,
      mountPoint: h.mountPoint,
      controllers: h.version === 2 ? v2Available : h.controllers,
      ownPath: h.ownPath
    })),
    limits,
    killMethod,
    usage: { cpu: cpuUsage !== null, memory: memoryStats !== null, pids: track !== null },
    oomDetection,
    warnings
  };
  return {
    root,
    instance,
    pid,
    ops,
    mountinfo: mountinfo ?? "",
    layout,
    plan,
    usable,
    track,
    freezerV1,
    enforce,
    cpuUsage,
    memoryStats,
    pidsStats,
    delegation,
    hostHasSwap,
    capabilities
  };
}

// src/cgroup/host.ts
var SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
function openCgroupHost(options) {
  return createCgroupHost(options);
}
function createCgroupHost(options, deps = {}) {
  if (options === null || typeof options !== "object") throw invalidArgument("cgroup options", options, 'an object with an "instance" name');
  const root = options.root ?? "/";
  if (typeof root !== "string" || !root.startsWith("/")) throw invalidArgument("root", root, "an absolute path");
  if (typeof options.instance !== "string" || !SEGMENT.test(options.instance)) {
    throw invalidArgument("instance", options.instance, 'one path segment of letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "jobctl-3f2a9c1b")');
  }
  return new Host(probeHost(root, options.instance, deps.pid ?? process.pid, deps.delegateOps));
}
var Host = class {
  capabilities;
  #s;
  #disposed = false;
  constructor(state) {
    this.#s = state;
    this.capabilities = state.capabilities;
  }
  checkLimits(limits, cwd) {
    this.#check(limits, cwd);
  }
  /** Validates and checks enforceability; returns the whole disk for io limits (null when none asked). */
  #check(limits, cwd) {
    validateLimits(limits);
    const asked = requestedLimits(limits);
    for (const name of asked) {
      const s = this.capabilities.limits[name];
      if (!s.enforceable) {
        throw new JobctlError("LIMIT_UNENFORCEABLE", `cannot enforce the ${name} limit (${limits[name]}) on this host: ${s.reason}${s.fix ? `. Fix: ${s.fix}` : ""}`, {
          details: { limit: name, reason: s.reason, fix: s.fix }
        });
      }
    }
    const io = asked.find((n) => n === "ioRead" || n === "ioWrite");
    if (!io) return null;
    const found = diskForPath(this.#s.root, cwd, this.#s.mountinfo);
    if (!found.ok) {
      throw new JobctlError(
        "LIMIT_UNENFORCEABLE",
        `cannot enforce the ${io} limit (${limits[io]}): ${found.reason}. Fix: run the job in a directory on a disk-backed filesystem (ext4, xfs, \u2026), or drop the io limits`,
        { details: { limit: io, cwd, device: `${found.device.major}:${found.device.minor}`, fsType: found.fsType } }
      );
    }
    return found.disk;
  }
  createJob(jobKey, limits, cwd) {
    if (this.#disposed) throw new JobctlError("CONFLICT", `cgroup host for instance ${this.#s.instance} was disposed; open a new one`);
    if (typeof jobKey !== "string" || !SEGMENT.test(jobKey) || jobKey === SUPERVISOR_DIR) {
      throw invalidArgument("job key", jobKey, `one path segment of letters, digits, "_", "." and "-" (e.g. "job-42"), not "${SUPERVISOR_DIR}"`);
    }
    const disk = this.#check(limits, cwd);
    const s = this.#s;
    if (!s.track) return null;
    const wanted = [
      s.track,
      s.cpuUsage?.hierarchy,
      s.memoryStats?.hierarchy,
      s.pidsStats?.hierarchy,
      limits.cpu !== void 0 ? s.enforce.cpu?.hierarchy : null,
      limits.memory !== void 0 ? s.enforce.memory?.hierarchy : null,
      limits.pids !== void 0 ? s.enforce.pids?.hierarchy : null,
      limits.ioRead !== void 0 || limits.ioWrite !== void 0 ? s.enforce.io?.hierarchy : null,
      s.freezerV1
    ];
    const hierarchies = [];
    for (const h of wanted) if (h && !hierarchies.includes(h)) hierarchies.push(h);
    const dirOf = (h) => join9(instanceDir(h, s.instance), jobKey);
    const created = [];
    try {
      for (const h of hierarchies) {
        const dir = dirOf(h);
        if (!mkdirCgroup(dir)) {
          const pids = readPidsRecursive(dir);
          if (pids.length > 0) {
            throw new JobctlError("CONFLICT", `cgroup ${dir} already exists with processes ${pids.slice(0, 10).join(", ")}: clean up leftovers of this instance first`, {
              details: { file: dir, pids }
            });
          }
          const code = tryRemoveTree(dir);
          if (code) throw new JobctlError("INTERNAL", `cannot remove the stale cgroup ${dir}: ${code}`, { details: { file: dir, errno: code } });
          mkdirCgroup(dir);
        }
        created.push(dir);
      }
      applyWrites(this.#limitWrites(limits, disk, dirOf));
    } catch (err) {
      for (const dir of [...created].reverse()) tryRemoveTree(dir);
      throw err;
    }
    const at = (b) => b ? { version: b.version, dir: dirOf(b.hierarchy) } : null;
    const spec = {
      key: jobKey,
      dirs: created,
      procsFiles: created.map((d) => join9(d, "cgroup.procs")),
      track: { version: s.track.version, dir: dirOf(s.track) },
      freezerV1: s.freezerV1 ? dirOf(s.freezerV1) : null,
      killMethod: this.capabilities.killMethod === "process-group" ? "kill-loop" : this.capabilities.killMethod,
      cpuUsage: at(s.cpuUsage),
      memory: at(s.memoryStats),
      pidsCounter: at(s.pidsStats)
    };
    return new CgroupJob(spec);
  }
  /** The writes for the asked limits, in LIMIT_NAMES order, each in its driver's order. */
  #limitWrites(limits, disk, dirOf) {
    const { enforce, hostHasSwap } = this.#s;
    const writes = [];
    if (limits.cpu !== void 0 && enforce.cpu) {
      const dir = dirOf(enforce.cpu.hierarchy);
      writes.push(...enforce.cpu.version === 1 ? cpuWrites(dir, limits.cpu) : cpuWrites2(dir, limits.cpu));
    }
    if (limits.memory !== void 0 && enforce.memory) {
      const dir = dirOf(enforce.memory.hierarchy);
      writes.push(...enforce.memory.version === 1 ? memoryWrites(dir, limits.memory, hostHasSwap) : memoryWrites2(dir, limits.memory));
    }
    if (limits.pids !== void 0 && enforce.pids) {
      const dir = dirOf(enforce.pids.hierarchy);
      writes.push(...enforce.pids.version === 1 ? pidsWrites(dir, limits.pids) : pidsWrites2(dir, limits.pids));
    }
    if (disk && enforce.io) {
      const dir = dirOf(enforce.io.hierarchy);
      if (enforce.io.version === 1 && limits.ioRead !== void 0) writes.push(...blkioReadWrites(dir, disk, limits.ioRead));
      if (enforce.io.version === 2) writes.push(...ioWrites(dir, disk, { read: limits.ioRead, write: limits.ioWrite }));
    }
    return writes;
  }
  /** Job keys under <own>/<instance> in any hierarchy used (the daemon's own leaf excluded). */
  #leftoverKeys() {
    const keys = /* @__PURE__ */ new Set();
    for (const h of this.#s.usable) {
      for (const name of subdirs(instanceDir(h, this.#s.instance))) if (name !== SUPERVISOR_DIR) keys.add(name);
    }
    return [...keys].sort();
  }
  /** A JobCgroup over whatever directories a leftover job still has. */
  #leftover(key) {
    const s = this.#s;
    const dirOf = (h) => join9(instanceDir(h, s.instance), key);
    const hs = [...s.usable].filter((h) => exists(dirOf(h)));
    const track = s.track && hs.includes(s.track) ? s.track : hs[0] ?? null;
    const trackDir = track ? { version: track.version, dir: dirOf(track) } : null;
    const freezer = s.layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes("freezer") && hs.includes(h));
    const killMethod = trackDir?.version === 2 && exists(join9(trackDir.dir, "cgroup.kill")) && !freezer ? "cgroup.kill" : freezer ? "freezer" : "kill-loop";
    return new CgroupJob({
      key,
      dirs: hs.map(dirOf),
      procsFiles: [],
      track: trackDir,
      freezerV1: freezer ? dirOf(freezer) : null,
      killMethod,
      cpuUsage: null,
      memory: null,
      pidsCounter: null
    });
  }
  async cleanupLeftovers() {
    const keys = this.#leftoverKeys();
    const errors = [];
    for (const key of keys) {
      const job = this.#leftover(key);
      try {
        await job.killAll();
        await job.remove();
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length > 0) {
      throw new JobctlError("INTERNAL", `cleaning up leftover job cgroups of instance ${this.#s.instance} failed: ${errors.join("; ")}`, { details: { keys } });
    }
    return keys;
  }
  async dispose() {
    if (this.#disposed) return;
    const s = this.#s;
    const left = this.#leftoverKeys();
    if (left.length > 0) {
      throw new JobctlError("CONFLICT", `cannot dispose of cgroup instance ${s.instance}: job cgroups remain (${left.join(", ")}); kill and remove them first`, {
        details: { keys: left }
      });
    }
    this.#disposed = true;
    const v2h = s.layout.hierarchies.find((h) => h.version === 2);
    const sup = s.delegation?.supervisorDir;
    if (v2h && sup) this.#leaveSupervisor(v2h, sup);
    const errors = [];
    for (const h of s.usable) {
      const dir = instanceDir(h, s.instance);
      if (h === v2h && sup && exists(sup) && readPidsRecursive(sup).length > 0) continue;
      try {
        await removeCgroupTree(dir);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.length > 0) throw new JobctlError("INTERNAL", `disposing of cgroup instance ${s.instance}: ${errors.join("; ")}`);
  }
  /**
   * Best effort: moves the daemon back from <instance>/supervisor to <own>. Allowed only once the
   * controllers this daemon enabled in <own> are turned off again (no-internal-processes rule), and
   * that is done only when our instance is <own>'s sole child — another subtree may rely on them.
   * When it is not possible the daemon stays; its empty leaf goes with the service's cgroup.
   */
  #leaveSupervisor(v2h, sup) {
    const s = this.#s;
    const inst = instanceDir(v2h, s.instance);
    const mine = s.delegation?.enabledAtOwn ?? [];
    if (subdirs(v2h.ownDir).some((d) => d !== s.instance)) return;
    try {
      for (const c of subtreeControl(inst)) s.ops.write(join9(inst, "cgroup.subtree_control"), `-${c}`);
      for (const c of mine) s.ops.write(join9(v2h.ownDir, "cgroup.subtree_control"), `-${c}`);
      if (subtreeControl(v2h.ownDir).length > 0 && v2h.ownPath !== "/") return;
      s.ops.write(join9(v2h.ownDir, "cgroup.procs"), String(s.pid));
      tryRemoveTree(sup);
    } catch {
    }
  }
};

// .vm-scratch/stress.ts
var comm = (p) => {
  try {
    return readFileSync4(`/proc/${p}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};
var info = (p) => {
  let s = "";
  try {
    const st = readFileSync4(`/proc/${p}/status`, "utf8").split("\n").filter((l) => /^(Name|State|PPid|SigPnd|ShdPnd|SigBlk|SigIgn|NSpid)/.test(l)).join(" | ");
    s += st;
    s += " | cg=" + readFileSync4(`/proc/${p}/cgroup`, "utf8").trim();
    s += " | wchan=" + readFileSync4(`/proc/${p}/wchan`, "utf8");
    s += " | stat=" + readFileSync4(`/proc/${p}/stat`, "utf8").trim();
  } catch (e) {
    s += " gone";
  }
  return `${p}: ${s}`;
};
var sleep2 = (ms) => new Promise((r) => setTimeout(r, ms));
var trampoline = 'for f do echo $$ > "$f" || exit 111; done; exec /bin/sh -c "$0"';
var scenario = process.argv[2] ?? "storm";
var rounds = Number(process.argv[3] ?? 10);
var host = openCgroupHost({ instance: "stress" });
console.log(JSON.stringify(host.capabilities.killMethod), readFileSync4("/proc/self/cgroup", "utf8").trim());
var bad = 0;
for (let i = 0; i < rounds; i++) {
  const job = host.createJob(`job-${i}`, {}, "/tmp");
  const script = scenario === "storm" ? `i=0; while [ $i -lt 20 ]; do ( setsid sh -c 'sleep 1000 & sleep 1000' & ); i=$((i+1)); done; exec sleep 1000` : scenario === "sup" ? 'for i in 1 2 3 4 5 6 7 8; do ( setsid sh -c "sleep 1000 & echo \\$!; sleep 1000" & ) ; done; echo ready; sleep 1000' : "( setsid sleep 1000 & echo $! ); exit 0";
  const child = spawn("/bin/sh", ["-c", trampoline, script, ...job.procsFiles], { stdio: ["ignore", "pipe", "inherit"], detached: true });
  let out = "";
  child.stdout.on("data", (d) => out += d);
  const exited = new Promise((r) => child.once("exit", r));
  const t0 = Date.now();
  if (scenario === "storm") {
    let n = 0;
    while (Date.now() - t0 < 6e4) {
      n = job.pids().filter((p) => comm(p) === "sleep").length;
      if (n >= 41) break;
      await sleep2(20);
    }
    console.log(`round ${i}: ${n} sleeps after ${Date.now() - t0} ms; pids ${job.pids().length}`);
  } else if (scenario === "sup") {
    while (Date.now() - t0 < 6e4 && !(out.includes("ready") && out.split("\n").filter((l) => /^\d+$/.test(l)).length === 8)) await sleep2(10);
    console.log(`round ${i}: ready after ${Date.now() - t0} ms; pids ${job.pids().length}`);
    job.signal("SIGTERM");
    await job.waitEmpty(300);
  } else {
    await exited;
    console.log(`round ${i}: main exited after ${Date.now() - t0} ms; out=${out.trim()} pids ${job.pids().join(",")}`);
  }
  const before = job.pids();
  try {
    await job.killAll(5e3);
    console.log(`  killAll ok (${before.length} before)`);
  } catch (e) {
    bad++;
    console.log(`  KILL FAILED: ${e.message}`);
    for (const p of job.pids()) console.log("   ", info(p));
    console.log("   events:", readFileSync4(job.dirs[0] + "/cgroup.events", "utf8").replace(/\n/g, " "));
    for (const p of job.pids()) try {
      process.kill(p, "SIGKILL");
    } catch {
    }
    await sleep2(500);
    console.log("   after manual SIGKILL:", job.pids().map(info).join("\n"));
  }
  if (scenario === "main") {
    const pid = Number(out.trim());
    console.log(`  leftover ${pid} alive? ${info(pid)}`);
  }
  await exited;
  await job.remove().catch((e) => console.log("  remove:", e.message));
}
await host.dispose().catch((e) => console.log("dispose", e.message));
console.log(`RESULT ${scenario}: ${bad} bad of ${rounds}`);
