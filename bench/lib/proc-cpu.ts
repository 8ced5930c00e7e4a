import fs from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

/**
 * CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat; null when the
 * process is gone or /proc is not there. Used for other processes (server nodes, relays, nginx)
 * where process.cpuUsage() cannot reach.
 */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / ticksPerSecond : null;
  } catch {
    return null;
  }
}

/** Total CPU ms of a set of processes (those that are gone count 0). */
export function totalCpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
}
