/**
 * What the load generator measures about a process, read from procfs: CPU time
 * (utime + stime, proc(5) `stat` fields 14 and 15) and resident memory
 * (`status` VmRSS / VmHWM). Namespaced daemons share our PID namespace, so
 * their /proc entries are visible from here.
 */

/** Clock ticks per second; Linux exposes `USER_HZ` = 100 on every architecture. */
const USER_HZ = 100;

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name (field 2) may contain spaces and parentheses: split after its last `)`.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/** Resident memory of the process in kB: current (VmRSS) and peak (VmHWM). */
export function residentKb(pid: number): { rss: number; hwm: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    return m ? Number(m[1]) : NaN;
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}
