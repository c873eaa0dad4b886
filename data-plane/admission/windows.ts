// Pure window math shared by the Redis and in-process admission: the sliding minute, the sliding second, budget
// windows, header values.
import { budgetWindow } from "../../shared/policy/budgets.ts";
import type { BudgetPeriod } from "../../shared/policy/index.ts";

/**
 * Minute windows (tokens, and requests above EXACT_MINUTE_LIMIT per minute) are sliding: counts are kept per second,
 * and a request is checked against the current second plus the 60 before it. Every 60-second span therefore lies
 * inside what is counted, so no rolling minute ever admits more than the limit; under saturation a client gets
 * limit × 60/61 (≥ 0.98×) per minute. For a small limit the slot is coarse against the spacing of the requests: a
 * client sending 5 per minute exactly on time would see one in six refused (the one 60 s after its predecessor still
 * finds it in the 61st slot), so request limits up to EXACT_MINUTE_LIMIT per minute use the sliding log below.
 * A fixed window would allow 2× across a minute boundary, a two-window weighted estimate up to ~2× for bursty traffic.
 * Counting in 1 s slots keeps a counter at ≤ 64 hash fields whatever the limit, and tokens are weights, not events.
 *
 * The second window (requests per second, a burst limit), and the minute of small request limits, is a sliding log
 * instead: one entry per admitted request, holding its time, forgotten exactly one window later. Slots would not do at this scale: 1 s slots admit only
 * half the limit per second under saturation (limit per 2 s), 50 ms slots 1000/1050 ≈ 0.95×, right at the edge of
 * what a limit should give. The log is exact: every span of 1000 ms holds at most `limit` admissions, and a saturating
 * client gets exactly `limit` per second, each slot freeing 1000 ms after it was taken. Its size is bounded by the
 * limit (one entry per request admitted in the last window), which is small for a burst limit and for request limits
 * up to EXACT_MINUTE_LIMIT per minute.
 * The Lua script in redis-admit-script.ts implements the same rules; keep the two in step.
 */
export const WINDOW_SECONDS = 60;
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
/** Request-per-minute limits up to this are counted exactly by a log (at most this many entries per scope). */
export const EXACT_MINUTE_LIMIT = 1_000;

export function secondIndex(ms: number): number {
  return Math.floor(ms / 1000);
}

/** Milliseconds until the count of second `index` leaves the window. */
export function leavesWindowInMs(index: number, nowMs: number): number {
  return (index + WINDOW_SECONDS + 1) * 1000 - nowMs;
}

/** Per-second counts of one scope and dimension; the in-process twin of the Redis hash {n, l, <second>: count}. */
export class SlidingCounter {
  private readonly counts = new Map<number, number>();
  total = 0;
  /** The newest second seen: the window ends here (a caller whose clock is behind counts into it). */
  latest = Number.NEGATIVE_INFINITY;

  /** Drops seconds that left the window at `index`; returns the second a new count goes into. */
  slide(index: number): number {
    if (index - this.latest > WINDOW_SECONDS) {
      this.counts.clear();
      this.total = 0;
      this.latest = index;
      return index;
    }
    if (index <= this.latest) return this.latest;
    for (let second = this.latest - WINDOW_SECONDS; second < index - WINDOW_SECONDS; second++) {
      const count = this.counts.get(second);
      if (count !== undefined) {
        this.total -= count;
        this.counts.delete(second);
      }
    }
    this.latest = index;
    return index;
  }

  add(second: number, amount: number): void {
    if (amount === 0) return;
    this.counts.set(second, (this.counts.get(second) ?? 0) + amount);
    this.total += amount;
  }

  /**
   * Settlement: moves a reservation made in `second` by `delta` (never below zero), while that second is still in the
   * window; an empty counter (like a missing Redis hash) judges that by `currentIndex` and takes `second` as its newest.
   */
  adjust(second: number, delta: number, currentIndex: number): void {
    const newest = this.counts.size > 0 ? this.latest : currentIndex;
    if (second < newest - WINDOW_SECONDS) return;
    const count = this.counts.get(second) ?? 0;
    const applied = Math.max(delta, -count);
    if (applied === 0) return;
    if (this.counts.size === 0) this.latest = second;
    this.counts.set(second, count + applied);
    this.total += applied;
  }

  /** The counted seconds and their counts, newest first, as stored (without sliding). */
  newestFirst(): Array<[second: number, count: number]> {
    return [...this.counts].filter(([, count]) => count > 0).sort((a, b) => b[0] - a[0]);
  }

  /** Milliseconds until `amount` units have left the window (oldest first); a full window when they never will. */
  freesInMs(amount: number, nowMs: number): number {
    if (amount <= 0) return 0;
    let freed = 0;
    for (let second = this.latest - WINDOW_SECONDS; second <= this.latest; second++) {
      freed += this.counts.get(second) ?? 0;
      if (freed >= amount) return leavesWindowInMs(second, nowMs);
    }
    return WINDOW_SECONDS * 1000;
  }
}

/** Admission times of one scope within the last `windowMs`, oldest first; the twin of the Redis sorted set. */
export class SlidingLog {
  private times: number[] = [];

  constructor(readonly windowMs: number) {}

  /** Forgets what left the window at `nowMs` (an entry counts for windowMs from its time); returns the count. */
  prune(nowMs: number): number {
    const cut = nowMs - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop]! <= cut) drop++;
    if (drop > 0) this.times = this.times.slice(drop);
    return this.times.length;
  }

  /** Adds entries at these times (any order). */
  seed(times: readonly number[]): void {
    for (const at of times) this.add(at);
  }

  add(nowMs: number): void {
    // Callers' clocks may disagree a little: keep the log sorted.
    let at = this.times.length;
    while (at > 0 && this.times[at - 1]! > nowMs) at--;
    this.times.splice(at, 0, nowMs);
  }

  get size(): number {
    return this.times.length;
  }

  /** The admission times held, oldest first (prune first for only those in the window). */
  entries(): readonly number[] {
    return this.times;
  }

  /** Milliseconds until `amount` entries have left the window; a full window when the limit is 0. */
  freesInMs(amount: number, nowMs: number): number {
    if (amount <= 0) return 0;
    const entry = this.times[amount - 1];
    return entry === undefined ? this.windowMs : entry + this.windowMs - nowMs;
  }
}

/**
 * A request limit that drops to EXACT_MINUTE_LIMIT or below moves from the per-second counter to the log, which starts
 * empty: without the counter's history a client that just sent thousands would get the new limit again at once. So a
 * minute log found empty is seeded from the counter's seconds still in its window, each request at the last moment of
 * its second (never earlier than it was), newest first and no more than `limit` of them: the newest `limit` decide
 * every verdict and wait until they leave. Returns the times to add. The other way, counterFromLog.
 */
export function seedFromCounter(seconds: ReadonlyArray<readonly [second: number, count: number]>, limit: number, nowMs: number, windowMs: number): number[] {
  const times: number[] = [];
  for (const [second, count] of seconds) {
    const at = Math.min(second * 1000 + 999, nowMs);
    if (at <= nowMs - windowMs) break;
    for (let i = 0; i < count && times.length < limit; i++) times.push(at);
    if (times.length >= limit) break;
  }
  return times;
}

/**
 * A request limit raised above EXACT_MINUTE_LIMIT moves from the log to the per-second counter: a counter with
 * nothing in its window starts from the log's entries of the last minute, each in its second (a time ahead of
 * `index` in it), so the minute still holds no more than the new limit.
 */
export function counterFromLog(times: readonly number[], index: number): Array<[second: number, count: number]> {
  const counts = new Map<number, number>();
  for (const at of times) {
    const second = Math.min(Math.floor(at / 1000), index);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  return [...counts];
}

/** A limit admits `cost` more when it stays within the limit and the window is not already full (cost 0 included). */
export function fits(used: number, cost: number, limit: number): boolean {
  return used < limit && used + cost <= limit;
}

export function fitsMicros(used: bigint, cost: bigint, cap: bigint): boolean {
  return used < cap && used + cost <= cap;
}

/** The budget window holding `at`: its start (names the counter) and end (when the counter may go; null = never). */
export function budgetWindowOf(period: BudgetPeriod, at: number): { start: number; end: number | null } {
  const window = budgetWindow(period, new Date(at));
  return { start: window.start.getTime(), end: window.end === null ? null : window.end.getTime() };
}

/** OpenAI's reset format: "850ms", "12s", "1m1s". */
export function formatReset(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const seconds = Math.ceil(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

/** Whole seconds for Retry-After, at least 1 so clients never retry in a busy loop. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
