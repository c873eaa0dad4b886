// Log lines for usage records the writer dropped, summed: while Postgres stays away with the buffer full, every request
// drops a record, and a line for each would flood the log for as long as the outage lasts.
import { type DropReason, LOGGED_BY_WRITER } from "./usage-writer.ts";

export interface DropLog {
  dropped(count: number, reason: DropReason): void;
  /** Logs what is still untold, at once: the process is stopping. */
  close(): void;
}

/**
 * The first drop is logged at once. Drops after it are summed per reason and logged at most once every `everyMs`; once
 * a whole interval passes without a drop, the next one is again logged at once. The metric
 * tollgate_usage_records_dropped still counts every record as it goes.
 */
export function createDropLog(log: (line: string) => void, everyMs = 10_000): DropLog {
  const untold = new Map<DropReason, number>();
  let timer: NodeJS.Timeout | null = null;

  function tell(suffix: string): void {
    for (const [reason, count] of untold) {
      log(`usage writer dropped ${count} record${count === 1 ? "" : "s"} (${reason.replace("_", " ")})${suffix}`);
    }
    untold.clear();
  }

  function quietFor(): void {
    timer = setTimeout(() => {
      timer = null;
      if (untold.size === 0) return;
      tell(` in the last ${everyMs / 1000} s`);
      quietFor();
    }, everyMs);
    timer.unref();
  }

  return {
    dropped(count, reason) {
      if (LOGGED_BY_WRITER.has(reason)) return;
      untold.set(reason, (untold.get(reason) ?? 0) + count);
      if (timer !== null) return;
      tell(`; further drops are summed, a line every ${everyMs / 1000} s at most`);
      quietFor();
    },
    close() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      tell("");
    },
  };
}
