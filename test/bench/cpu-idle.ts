// How the machine's idle cores sleep: on a VM, a core that halts when idle must be woken by the hypervisor before it
// runs a process woken from the other core, which shows in every cross-core hand-off at low load (issue 5's note).
import { readFileSync } from "node:fs";

const read = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
};

/** e.g. "haltpoll, guest_halt_poll_ns 0 (an idle core halts at once)", or "unknown". */
export function cpuIdleDescription(): string {
  const driver = read("/sys/devices/system/cpu/cpuidle/current_driver");
  if (driver === null) return "unknown";
  if (driver !== "haltpoll") return driver;
  const pollNs = read("/sys/module/haltpoll/parameters/guest_halt_poll_ns");
  if (pollNs === null) return driver;
  return `${driver}, guest_halt_poll_ns ${pollNs}${pollNs === "0" ? " (an idle core halts at once)" : ""}`;
}
