import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Where the CPU went during a phase: the server child and Postgres (from /proc, Linux only,
 * Postgres only when it runs on this host), this process (the clients), and the whole machine. On a small machine this tells whether a
 * throughput figure is the server's event loop, Postgres, or the load generator.
 */
export interface CpuSnapshot {
  at: number;
  serverMs: number | null;
  postgresMs: number | null;
  selfMs: number;
  machineBusyMs: number;
  machineTotalMs: number;
}

/** Fields after the command name of /proc/<pid>/stat: [0] state, [1] ppid, [11] utime, [12] stime. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime in ms; /proc reports clock ticks, 100 per second on Linux. */
const cpuMsOf = (f: string[]) => (Number(f[11]) + Number(f[12])) * 10;

function processCpuMs(pid: number): number | null {
  const f = statFields(pid);
  return f ? cpuMsOf(f) : null;
}

/** The postmaster's pid from one of its backends' pids (the backend's parent), when Postgres runs on this host. */
export function postmasterOf(backendPid: number): number | null {
  const f = statFields(backendPid);
  return f ? Number(f[1]) : null;
}

/**
 * Time on CPU in ms from /proc/<pid>/schedstat (nanoseconds, so short phases still count),
 * falling back to the tick-based stat figure. Postgres processes have a single thread,
 * which is all schedstat covers.
 */
function singleThreadCpuMs(pid: number, f: string[]): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return cpuMsOf(f);
  }
}

/** Whether a Postgres child serves `database`: its process title reads "postgres: … <user> <database> <host>(<port>) …". */
function servesDatabase(pid: number, database: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(` ${database} `);
  } catch {
    return false;
  }
}

/**
 * CPU of the postmaster and all its children alive now (backends, walwriter, checkpointer…),
 * or, with `database`, of the backends connected to that database only: on a Postgres
 * shared with other work, the others' backends would count as ours. (The WAL writer and
 * checkpointer serve every database and are then left out.)
 */
function postgresCpuMs(postmasterPid: number, database: string | null): number | null {
  const own = statFields(postmasterPid);
  if (own === null) return null;
  let total = database === null ? singleThreadCpuMs(postmasterPid, own) : 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f || Number(f[1]) !== postmasterPid) continue;
    if (database !== null && !servesDatabase(Number(entry), database)) continue;
    total += singleThreadCpuMs(Number(entry), f);
  }
  return total;
}

export function cpuSnapshot(serverPid: number | null, postmasterPid: number | null = null, database: string | null = null): CpuSnapshot {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    serverMs: serverPid === null ? null : processCpuMs(serverPid),
    postgresMs: postmasterPid === null ? null : postgresCpuMs(postmasterPid, database),
    selfMs: (self.user + self.system) / 1000,
    machineBusyMs: busy,
    machineTotalMs: total,
  };
}

/**
 * Percent of one core for the processes, percent of all cores for the machine. Postgres
 * backends that exit during the phase are missed, so its figure is a lower bound.
 */
export function cpuSince(before: CpuSnapshot, after: CpuSnapshot) {
  const wall = after.at - before.at;
  return {
    serverPct: before.serverMs === null || after.serverMs === null ? null : (100 * (after.serverMs - before.serverMs)) / wall,
    postgresPct: before.postgresMs === null || after.postgresMs === null ? null : (100 * (after.postgresMs - before.postgresMs)) / wall,
    clientPct: (100 * (after.selfMs - before.selfMs)) / wall,
    machinePct: (100 * (after.machineBusyMs - before.machineBusyMs)) / Math.max(1, after.machineTotalMs - before.machineTotalMs),
  };
}
