// In-process admission for the embedded mode (one data-plane process): the same checks and windows as Redis, in Maps.
import type { Admission, AdmissionTicket, AdmitResult, Bucket } from "../contracts.ts";
import type { BudgetPeriod } from "../../shared/policy/index.ts";
import { type BudgetCheck, type Check, checksOf } from "./checks.ts";
import { admitResult, type Verdict, type WindowState } from "./verdict.ts";
import { DEFAULT_CONCURRENCY_LEASE_MS, ticketFor, wholeMicros, wholeTokens } from "./tickets.ts";
import { counterFromLog, fits, fitsMicros, MINUTE_MS, secondIndex, seedFromCounter, SlidingCounter, SlidingLog, WINDOW_SECONDS } from "./windows.ts";

interface ScopeCounters {
  requests: SlidingCounter;
  /** Exactly counted request windows (per second, small per-minute limits) by window length: recent admission times. */
  logs: Map<number, SlidingLog>;
  tokens: SlidingCounter;
  /** Ticket id → lease end (epoch ms). */
  leases: Map<string, number>;
  /** Spent + reserved micro-dollars in the current window of each period; a new window replaces the entry. */
  spend: Map<BudgetPeriod, { windowStart: number; used: bigint }>;
}

/** State lives as long as the process; one entry per scope, so it is bounded by the number of keys and principals. */
export function createMemoryAdmission(options: { concurrencyLeaseMs?: number } = {}): Admission {
  const leaseMs = options.concurrencyLeaseMs ?? DEFAULT_CONCURRENCY_LEASE_MS;
  const scopes = new Map<string, ScopeCounters>();
  // Tickets not settled yet: a second settle (or one for a ticket never counted) is a no-op.
  // The checks each admitted ticket counted against, so its settle does not derive them again.
  const pending = new WeakMap<AdmissionTicket, readonly Check[]>();
  let sequence = 0;

  function countersOf(scope: string): ScopeCounters {
    let counters = scopes.get(scope);
    if (!counters) {
      counters = { requests: new SlidingCounter(), logs: new Map(), tokens: new SlidingCounter(), leases: new Map(), spend: new Map() };
      scopes.set(scope, counters);
    }
    return counters;
  }

  function logOf(counters: ScopeCounters, windowMs: number): SlidingLog {
    let log = counters.logs.get(windowMs);
    if (!log) counters.logs.set(windowMs, (log = new SlidingLog(windowMs)));
    return log;
  }

  function spentIn(counters: ScopeCounters, check: BudgetCheck): bigint {
    const entry = counters.spend.get(check.period);
    return entry && entry.windowStart === check.windowStart ? entry.used : 0n;
  }

  function admit(buckets: Bucket[], estimate: { tokens: number; micros: bigint }, now: number): Promise<AdmitResult> {
    const ticket = ticketFor(`mem-${++sequence}`, buckets, estimate, now);
    const checks = checksOf(buckets, now);
    const verdict: Verdict = { failed: -1, waitMs: 0, requests: null, tokens: null };
    if (checks.length === 0) return Promise.resolve(admitResult(verdict, checks, ticket));
    const index = secondIndex(now);
    const seconds: number[] = [];

    checks.forEach((check, i) => {
      const counters = countersOf(check.scope);
      if (check.kind === "requests" || check.kind === "tokens") {
        const counter = counters[check.kind];
        seconds[i] = counter.slide(index);
        const log = check.kind === "requests" && counter.total === 0 ? counters.logs.get(MINUTE_MS) : undefined;
        if (log && log.prune(now) > 0) for (const [second, count] of counterFromLog(log.entries(), seconds[i]!)) counter.add(second, count);
        const cost = check.kind === "requests" ? 1 : ticket.reservedTokens;
        if (verdict.failed < 0 && !fits(counter.total, cost, check.limit)) {
          verdict.failed = i;
          verdict.waitMs = cost > check.limit ? WINDOW_SECONDS * 1000 : counter.freesInMs(Math.max(1, counter.total + cost - check.limit), now);
        }
      } else if (check.kind === "requestLog") {
        const log = logOf(counters, check.windowMs);
        let count = log.prune(now);
        if (count === 0 && check.windowMs === MINUTE_MS && counters.requests.total > 0) {
          log.seed(seedFromCounter(counters.requests.newestFirst(), check.limit, now, check.windowMs));
          count = log.size;
        }
        if (verdict.failed < 0 && !fits(count, 1, check.limit)) {
          verdict.failed = i;
          verdict.waitMs = check.limit < 1 ? check.windowMs : log.freesInMs(count + 1 - check.limit, now);
        }
      } else if (check.kind === "concurrency") {
        for (const [id, end] of counters.leases) if (end <= now) counters.leases.delete(id);
        if (verdict.failed < 0 && counters.leases.size >= check.limit) verdict.failed = i;
      } else if (verdict.failed < 0 && !fitsMicros(spentIn(counters, check), ticket.reservedMicros, check.capMicros)) {
        verdict.failed = i;
      }
    });

    const admitted = verdict.failed < 0;
    if (admitted) {
      checks.forEach((check, i) => {
        const counters = countersOf(check.scope);
        if (check.kind === "requests") counters.requests.add(seconds[i]!, 1);
        else if (check.kind === "requestLog") logOf(counters, check.windowMs).add(now);
        else if (check.kind === "tokens") counters.tokens.add(seconds[i]!, ticket.reservedTokens);
        else if (check.kind === "concurrency") counters.leases.set(ticket.id, now + leaseMs);
        else if (ticket.reservedMicros !== 0n) counters.spend.set(check.period, { windowStart: check.windowStart, used: spentIn(counters, check) + ticket.reservedMicros });
      });
      pending.set(ticket, checks);
    }
    // After the writes, so an admitted request already counts against what remains.
    verdict.requests = tightest(checks, "requests", now);
    verdict.tokens = tightest(checks, "tokens", now);
    return Promise.resolve(admitResult(verdict, checks, ticket));
  }

  /** The tightest window of a dimension; a per-second request limit counts as a request window too. */
  function tightest(checks: readonly Check[], kind: "requests" | "tokens", now: number): WindowState | null {
    let best: WindowState | null = null;
    let bestReset: (() => number) | null = null;
    for (const check of checks) {
      if (check.kind === "budget" || check.kind === "concurrency" || (check.kind === "tokens") !== (kind === "tokens")) continue;
      const counters = countersOf(check.scope);
      const window = check.kind === "requestLog" ? logOf(counters, check.windowMs) : counters[check.kind];
      const used = window instanceof SlidingLog ? window.size : window.total;
      const remaining = Math.max(0, check.limit - used);
      if (!best || remaining < best.remaining) {
        best = { limit: check.limit, remaining, resetMs: 0 };
        bestReset = used > 0 ? () => window.freesInMs(1, now) : null;
      }
    }
    if (best && bestReset) best.resetMs = bestReset();
    return best;
  }

  function settle(ticket: AdmissionTicket, actual: { tokens: number; micros: bigint }): Promise<void> {
    const checks = pending.get(ticket);
    if (checks === undefined) return Promise.resolve();
    pending.delete(ticket);
    const spent = wholeMicros(actual.micros);
    const second = secondIndex(ticket.at);
    const current = secondIndex(Date.now());
    for (const check of checks) {
      const counters = countersOf(check.scope);
      if (check.kind === "tokens") counters.tokens.adjust(second, wholeTokens(actual.tokens) - ticket.reservedTokens, current);
      else if (check.kind === "concurrency") counters.leases.delete(ticket.id);
      else if (check.kind === "budget") {
        // A window that has since rolled over is gone, as its Redis key would be; a window nothing was reserved in yet
        // (a reservation of 0) gets the actual spend, as the Redis settle does.
        const entry = counters.spend.get(check.period);
        if (!entry) {
          if (spent > 0n) counters.spend.set(check.period, { windowStart: check.windowStart, used: spent });
          continue;
        }
        if (entry.windowStart !== check.windowStart) continue;
        const used = entry.used + spent - ticket.reservedMicros;
        entry.used = used < 0n ? 0n : used;
      }
    }
    return Promise.resolve();
  }

  return { admit, settle, close: () => Promise.resolve() };
}
