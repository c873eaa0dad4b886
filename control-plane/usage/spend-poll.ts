// A poll-on-subscribe stream of daily spend: the data plane publishes no spend events, so the subject's spend is
// recomputed every interval and pushed only when it changed. Unsubscribing stops the timer at once.
import { reloadCaller } from "../auth/current-caller.ts";
import type { Context } from "../context.ts";
import { type SpendSubject, type SpendSummaryShape, spendSummary } from "./spend-summary.ts";

/** Pushed once when the subscriber lost the right to watch; the resolver turns it into FORBIDDEN. */
export const REVOKED = Symbol("revoked");

export type SpendStreamItem = SpendSummaryShape | typeof REVOKED;

export function pollDailySpend(ctx: Context, subject: SpendSubject, first: SpendSummaryShape, intervalMs: number): AsyncIterableIterator<SpendStreamItem> {
  const stop = new AbortController();
  const ticks = changedSpend(ctx, subject, first, intervalMs, stop.signal);
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => ticks.next(),
    // An async generator only sees return() once its pending step settles; aborting first wakes a sleeping loop now.
    return: (value?: unknown) => {
      stop.abort();
      return ticks.return(value as undefined);
    },
    throw: (error?: unknown) => {
      stop.abort();
      return ticks.throw(error);
    },
  };
}

async function* changedSpend(
  ctx: Context,
  subject: SpendSubject,
  first: SpendSummaryShape,
  intervalMs: number,
  signal: AbortSignal,
): AsyncGenerator<SpendStreamItem, void, undefined> {
  let last = fingerprint(first);
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    yield first;
    while (!signal.aborted) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
      clearTimeout(timer);
      if (signal.aborted) return;
      if (!(await mayStillWatch(ctx, subject))) {
        yield REVOKED;
        return;
      }
      const summary = await spendSummary(ctx.prisma, subject, "DAILY");
      // A subject deleted since subscribing has nothing more to report.
      if (signal.aborted || !summary) return;
      const current = fingerprint(summary);
      if (current !== last) {
        last = current;
        yield summary;
      }
    }
  } finally {
    // However the stream ends (unsubscribed, revoked, subject gone, database error), no timer or listener outlives it.
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

function fingerprint(s: SpendSummaryShape): string {
  return `${s.windowStart.toISOString()}|${s.spentMicros}|${s.capMicros ?? "none"}`;
}

/**
 * The caller as they are now (key and user in one query): a revoked or expired key, a disabled user, or a demoted
 * admin watching someone else ends the stream, not just new requests.
 */
async function mayStillWatch(ctx: Context, subject: SpendSubject, now = new Date()): Promise<boolean> {
  const current = await reloadCaller(ctx, now);
  if (!current) return false;
  return current.isOrgAdmin || ("userId" in subject && subject.userId === current.userId);
}
