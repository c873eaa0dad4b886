// Gives a burst's memory back once the data plane is idle again. V8 keeps the heap a burst grew to (its young generation
// at 32 MB, old-space garbage) until it next collects, and an idle process may not for hours: resident memory stays at
// the peak. It shrinks the young generation only in a collection made when it allocated little over the last 5 s.
// Opt-in (DATA_PLANE_IDLE_COLLECT_MS): the next burst starts on a small heap and pays for it in its tail latency.
import { cpuUsage } from "node:process";
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface IdleCollectionOptions {
  /**
   * Collect once the process has been idle this long (no request in flight, under 10 % of a core). Under 5 s, V8 still
   * counts the burst in its allocation rate and keeps its young generation at full size.
   */
  idleMs: number;
  /** Requests in flight: a collection pauses the process, and their chunks would wait for it. */
  inFlight(): number;
  /** Only a heap grown by this much since the last collection is worth one. Default 16 MiB. */
  growthBytes?: number;
  /** After each collection: the V8 heap committed before and after it, and how long it paused the process. */
  onCollect?(before: number, after: number, pauseMs: number): void;
}

export interface IdleCollection {
  stop(): void;
}

/** Share of one core under which the process counts as idle: its timers and policy checks stay well below. */
const IDLE_CPU_SHARE = 0.1;
const TICKS_PER_IDLE_PERIOD = 8;

export function startIdleCollection(options: IdleCollectionOptions): IdleCollection {
  const collect = fullCollection();
  const growthBytes = options.growthBytes ?? 16 * 1024 * 1024;
  const tickMs = Math.max(10, Math.round(options.idleMs / TICKS_PER_IDLE_PERIOD));
  let baseline = committedHeap();
  let quietSince = performance.now();
  let lastTick = quietSince;
  let lastCpu = cpuUsage();

  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = cpuUsage();
    const busyMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    lastCpu = cpu;
    if (options.inFlight() > 0 || busyMs > (now - lastTick) * IDLE_CPU_SHARE) quietSince = now;
    lastTick = now;
    if (now - quietSince < options.idleMs) return;
    const before = committedHeap();
    if (before - baseline < growthBytes) {
      // A heap that shrank on its own (V8 collected) is the new floor.
      baseline = Math.min(baseline, before);
      return;
    }
    const started = performance.now();
    collect();
    baseline = committedHeap();
    options.onCollect?.(before, baseline, performance.now() - started);
    // The collection's own CPU is not traffic.
    lastCpu = cpuUsage();
    lastTick = performance.now();
  }, tickMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function committedHeap(): number {
  return getHeapStatistics().total_heap_size;
}

/**
 * V8's full, synchronous collection. Node has no API for it short of --expose-gc; the flag is set only for the one
 * context that hands the function over, then unset, so no other code (vm contexts included) sees a `gc` global.
 */
function fullCollection(): () => void {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === "function") return global;
  setFlagsFromString("--expose-gc");
  try {
    return runInNewContext("gc") as () => void;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}
