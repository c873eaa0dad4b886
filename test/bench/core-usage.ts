// How busy each core was while a section ran, and how much of its time the hypervisor took (steal), from /proc/stat:
// on a shared VM the same code measures 2× slower from one day to the next, and a reader needs to see why.
import { readFileSync } from "node:fs";

interface CoreTicks {
  busy: number;
  steal: number;
  total: number;
}

/** Per core, cumulative ticks since boot; empty where /proc/stat cannot be read. */
export function coreTicks(): CoreTicks[] {
  let stat: string;
  try {
    stat = readFileSync("/proc/stat", "utf8");
  } catch {
    return [];
  }
  const cores: CoreTicks[] = [];
  for (const line of stat.split("\n")) {
    // "cpu0 user nice system idle iowait irq softirq steal guest guest_nice"; the aggregate "cpu " line is skipped.
    if (!/^cpu\d/.test(line)) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq!;
    cores.push({ busy, steal: steal!, total: busy + idle! + iowait! + steal! });
  }
  return cores;
}

export interface CoreShare {
  /** Percent of the interval the core ran anything (user, system, interrupts). */
  busy: number;
  /** Percent of the interval the hypervisor ran something else on it. */
  steal: number;
}

/** Per core, its busy and steal shares between two readings; empty when there is nothing to compare. */
export function coreShares(before: CoreTicks[], after: CoreTicks[]): CoreShare[] {
  if (before.length === 0 || before.length !== after.length) return [];
  return after.map((end, core) => {
    const start = before[core]!;
    const total = end.total - start.total;
    const share = (ticks: number) => (total > 0 ? (100 * ticks) / total : 0);
    return { busy: share(end.busy - start.busy), steal: share(end.steal - start.steal) };
  });
}

/** "core 0 busy 71 %, steal 3 %; core 1 …" between two readings; null when there is nothing to compare. */
export function describeCoreUsage(before: CoreTicks[], after: CoreTicks[]): string | null {
  const shares = coreShares(before, after);
  if (shares.length === 0) return null;
  return shares.map((s, core) => `core ${core} busy ${Math.round(s.busy)} %, steal ${Math.round(s.steal)} %`).join("; ");
}
