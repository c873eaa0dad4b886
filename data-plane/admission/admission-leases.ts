// Quota leases: one admit counts a block of requests in Redis for this instance, and the next requests of the same
// buckets are admitted from that block in process, without a round trip. Redis admission (redis-admission.ts) uses it.
import type { AdmissionTicket, AdmitResult, Bucket } from "../contracts.ts";
import type { Check } from "./checks.ts";
import { neverSent } from "./settle-replay.ts";
import { correctionOf } from "./tickets.ts";
import { rateLimitHeaders, type Verdict, type WindowState } from "./verdict.ts";
import { SECOND_MS, secondIndex } from "./windows.ts";

/**
 * A lease holds at most this fraction of any limit or budget it counts against, so what one instance holds and has
 * not used yet is a sliver of the limit; and a lease is never short of room, because the script grants only what
 * fits and, near the limit, falls back to counting one request as if there were no leases.
 */
const SHARE = 100;
/** Requests in one lease at most, whatever the limits: bounds what a lease returns and how far it can overshoot a second. */
const MOST_UNITS = 4096;
const MAX_EXACT_MICROS = BigInt(Number.MAX_SAFE_INTEGER);
/** Corrections of finished requests wait this long for company before they go to Redis as one settle. */
const FLUSH_LINGER_MS = 20;
/** A correction that could not be sent (Redis not connected) is tried again after this long. */
const RETRY_MS = 1_000;
/** A bucket set's last lease size is forgotten after this long without one: it says nothing about traffic any more. */
const SIZE_MEMORY_MS = 10_000;

/** What a lease hands back or corrects in one settle: requests not used, tokens and spend (actual − reserved). */
export interface LeaseDeltas {
  requests: number;
  tokens: number;
  micros: bigint;
}

/** What a lease counted in Redis: every settle of it goes to the same counters in the same second. */
export interface LeaseCounters {
  id: string;
  checks: readonly Check[];
  keys: readonly string[];
  /** Epoch ms of the admit that counted it. */
  at: number;
}

/**
 * The largest lease these checks allow for requests like this one (0 or 1: none). Only minute-counted requests,
 * tokens and budgets can be leased: the exact request logs (per second, and per minute up to 1,000) record every
 * request's own time, and a concurrency slot is held by a request, not a count.
 */
export function leaseUnitsAllowed(checks: readonly Check[], reservedTokens: number, reservedMicros: bigint): number {
  let most = MOST_UNITS;
  for (const check of checks) {
    if (check.kind === "requests") most = Math.min(most, Math.floor(check.limit / SHARE));
    else if (check.kind === "tokens") {
      if (reservedTokens > 0) most = Math.min(most, Math.floor(check.limit / SHARE / reservedTokens));
    } else if (check.kind === "budget") {
      if (reservedMicros > 0n) most = Math.min(most, Number(check.capMicros / (BigInt(SHARE) * reservedMicros)));
    } else return 0;
  }
  // The script multiplies the spend in a Lua number: keep the product exact, so what is handed back matches.
  if (reservedMicros > 0n) most = Math.min(most, Number(MAX_EXACT_MICROS / reservedMicros));
  return most;
}

interface Lease extends LeaseCounters {
  bookKey: string;
  buckets: readonly Bucket[];
  /** The lease stops admitting at the end of the second it was counted in (its counts sit in that second). */
  endsAt: number;
  units: number;
  requestsLeft: number;
  tokensLeft: number;
  microsLeft: bigint;
  /** The verdict's windows after the whole lease was counted. */
  requests: WindowState | null;
  tokens: WindowState | null;
  /** Requests admitted from it, and those of them not settled yet. */
  used: number;
  inFlight: number;
  open: boolean;
  pending: LeaseDeltas;
  flushTimer: NodeJS.Timeout | null;
  sending: Promise<void> | null;
}

export interface LeaseBookOptions {
  /** Sends one settle of the lease's counters; rejects when Redis did not take it. */
  send(lease: LeaseCounters, deltas: LeaseDeltas): Promise<void>;
  /** A correction lost to an error after it may have reached Redis (it is not sent again, as with settle replays). */
  onLost?(error: Error): void;
}

export interface LeaseBook {
  /** Admits a request from the lease held for exactly these buckets, if it has room for the reservation. */
  take(buckets: readonly Bucket[], ticket: AdmissionTicket, now: number): AdmitResult | null;
  /**
   * The acquisition in flight for these buckets' lease, if any: later requests wait for it instead of asking again.
   * Resolves true when it opened a lease; false (refused, or only one request fitted) tells them to ask on their own.
   */
  acquiring(buckets: readonly Bucket[]): Promise<boolean> | undefined;
  /** Marks an acquisition for these buckets as in flight until the returned function is called. */
  startAcquiring(buckets: readonly Bucket[]): () => void;
  /** How many requests to ask for: more while leases run out within their second, fewer when they go unused. */
  unitsWanted(buckets: readonly Bucket[], most: number): number;
  /** Opens the lease an admit counted (`units` ≥ 2 requests) and admits the request that asked for it from it. */
  open(counters: LeaseCounters, ticket: AdmissionTicket, verdict: Verdict, units: number): AdmitResult;
  /** Settles a request admitted from a lease; false when the ticket is not a lease's. */
  settle(ticket: AdmissionTicket, actual: { tokens: number; micros: bigint }): boolean;
  /** Closes every lease and sends what they hand back; resolves when the sends are done. */
  close(): Promise<void>;
}

const ZERO: LeaseDeltas = { requests: 0, tokens: 0, micros: 0n };

export function createLeaseBook(options: LeaseBookOptions): LeaseBook {
  const leases = new Map<string, Lease>();
  /** Per bucket set: the size of its last lease and how much of it was used, for sizing the next one. */
  const sizes = new Map<string, { units: number; used: number; at: number }>();
  const acquisitions = new Map<string, { done: Promise<boolean>; opened: boolean }>();
  const byTicket = new WeakMap<AdmissionTicket, Lease>();
  const unsettled = new Set<Lease>();
  let sweepTimer: NodeJS.Timeout | null = null;
  let closed = false;

  function bookKey(buckets: readonly Bucket[]): string {
    return buckets.length === 1 ? buckets[0]!.scope : buckets.map((bucket) => bucket.scope).join("|");
  }

  /** The policy may have changed since (a new snapshot replaces the bucket objects): such a lease is closed. */
  function sameBuckets(lease: Lease, buckets: readonly Bucket[]): boolean {
    if (lease.buckets.length !== buckets.length) return false;
    for (let i = 0; i < buckets.length; i++) if (lease.buckets[i] !== buckets[i]) return false;
    return true;
  }

  function admitFrom(lease: Lease, ticket: AdmissionTicket, now: number): AdmitResult {
    lease.requestsLeft -= 1;
    lease.tokensLeft -= ticket.reservedTokens;
    lease.microsLeft -= ticket.reservedMicros;
    lease.used += 1;
    lease.inFlight += 1;
    byTicket.set(ticket, lease);
    unsettled.add(lease);
    if (lease.requestsLeft === 0) closeLease(lease);
    // Other instances' use since the lease was counted is not known here; what this one holds unused is still free.
    const elapsed = now - lease.at;
    const headers = rateLimitHeaders({
      failed: -1,
      waitMs: 0,
      requests: withHeld(lease.requests, lease.requestsLeft, elapsed),
      tokens: withHeld(lease.tokens, lease.tokensLeft, elapsed),
    });
    return { ok: true, ticket, headers };
  }

  function closeLease(lease: Lease): void {
    if (!lease.open) return;
    lease.open = false;
    if (leases.get(lease.bookKey) === lease) leases.delete(lease.bookKey);
    // A bucket set that used a lease of two or less is not kept: one-off traffic leaves nothing behind.
    if (lease.used >= 2 || lease.units > 2) sizes.set(lease.bookKey, { units: lease.units, used: lease.used, at: lease.at });
    else sizes.delete(lease.bookKey);
    addDeltas(lease, { requests: -lease.requestsLeft, tokens: -lease.tokensLeft, micros: -lease.microsLeft });
    lease.requestsLeft = 0;
    lease.tokensLeft = 0;
    lease.microsLeft = 0n;
    flush(lease);
  }

  function addDeltas(lease: Lease, deltas: LeaseDeltas): void {
    lease.pending = {
      requests: lease.pending.requests + deltas.requests,
      tokens: lease.pending.tokens + deltas.tokens,
      micros: lease.pending.micros + deltas.micros,
    };
  }

  function scheduleFlush(lease: Lease, ms: number): void {
    if (lease.flushTimer !== null) return;
    lease.flushTimer = setTimeout(() => {
      lease.flushTimer = null;
      flush(lease);
    }, ms);
    lease.flushTimer.unref();
  }

  function flush(lease: Lease): void {
    if (lease.flushTimer !== null) {
      clearTimeout(lease.flushTimer);
      lease.flushTimer = null;
    }
    if (lease.sending !== null) return;
    const deltas = lease.pending;
    if (isZero(deltas)) return forgetIfDone(lease);
    lease.pending = ZERO;
    lease.sending = options.send(lease, deltas).then(
      () => {
        lease.sending = null;
        if (!isZero(lease.pending)) scheduleFlush(lease, FLUSH_LINGER_MS);
        else forgetIfDone(lease);
      },
      (error: unknown) => {
        lease.sending = null;
        if (neverSent(error)) {
          addDeltas(lease, deltas);
          scheduleFlush(lease, RETRY_MS);
          return;
        }
        options.onLost?.(error instanceof Error ? error : new Error(String(error)));
        if (!isZero(lease.pending)) scheduleFlush(lease, RETRY_MS);
        else forgetIfDone(lease);
      },
    );
  }

  /** A closed lease whose requests have all settled and whose corrections all went out is forgotten. */
  function forgetIfDone(lease: Lease): void {
    if (!lease.open && lease.inFlight === 0 && lease.sending === null && isZero(lease.pending)) unsettled.delete(lease);
  }

  function sweep(): void {
    sweepTimer = null;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const lease of [...leases.values()]) {
      if (lease.endsAt <= now) closeLease(lease);
      else next = Math.min(next, lease.endsAt);
    }
    for (const [key, size] of sizes) if (now - size.at > SIZE_MEMORY_MS) sizes.delete(key);
    if (next !== Number.POSITIVE_INFINITY) armSweep(next);
  }

  function armSweep(at: number): void {
    if (sweepTimer !== null || closed) return;
    sweepTimer = setTimeout(sweep, Math.max(0, at - Date.now()) + 1);
    sweepTimer.unref();
  }

  return {
    take(buckets, ticket, now) {
      const lease = leases.get(bookKey(buckets));
      if (lease === undefined) return null;
      if (now >= lease.endsAt || !sameBuckets(lease, buckets)) {
        closeLease(lease);
        return null;
      }
      if (lease.tokensLeft < ticket.reservedTokens || lease.microsLeft < ticket.reservedMicros) {
        // A bigger request than the lease was sized for: hand the rest back and ask for a lease of its size.
        closeLease(lease);
        return null;
      }
      return admitFrom(lease, ticket, now);
    },

    acquiring(buckets) {
      return acquisitions.get(bookKey(buckets))?.done;
    },

    startAcquiring(buckets) {
      const key = bookKey(buckets);
      let resolve!: (opened: boolean) => void;
      const acquisition = { done: new Promise<boolean>((r) => (resolve = r)), opened: false };
      acquisitions.set(key, acquisition);
      return () => {
        acquisitions.delete(key);
        resolve(acquisition.opened);
      };
    },

    unitsWanted(buckets, most) {
      const key = bookKey(buckets);
      let last = sizes.get(key);
      if (last !== undefined && Date.now() - last.at > SIZE_MEMORY_MS) {
        sizes.delete(key);
        last = undefined;
      }
      const wanted = last === undefined ? 2 : last.used >= last.units ? last.units * 2 : Math.ceil(last.used * 1.5) + 1;
      return Math.max(2, Math.min(most, wanted));
    },

    open(counters, ticket, verdict, units) {
      const buckets = ticket.buckets;
      const key = bookKey(buckets);
      const previous = leases.get(key);
      if (previous !== undefined) closeLease(previous);
      const lease: Lease = {
        ...counters,
        bookKey: key,
        buckets: [...buckets],
        endsAt: (secondIndex(counters.at) + 1) * SECOND_MS,
        units,
        requestsLeft: units,
        tokensLeft: ticket.reservedTokens * units,
        microsLeft: ticket.reservedMicros * BigInt(units),
        requests: verdict.requests,
        tokens: verdict.tokens,
        used: 0,
        inFlight: 0,
        open: true,
        pending: ZERO,
        flushTimer: null,
        sending: null,
      };
      if (closed) {
        // Counted after close() began: hand it all back except this request.
        const result = admitFrom(lease, ticket, counters.at);
        closeLease(lease);
        return result;
      }
      leases.set(key, lease);
      const acquisition = acquisitions.get(key);
      if (acquisition !== undefined) acquisition.opened = true;
      armSweep(lease.endsAt);
      return admitFrom(lease, ticket, counters.at);
    },

    settle(ticket, actual) {
      const lease = byTicket.get(ticket);
      if (lease === undefined) return false;
      byTicket.delete(ticket);
      lease.inFlight -= 1;
      addDeltas(lease, { requests: 0, ...correctionOf(ticket, actual) });
      if (isZero(lease.pending)) forgetIfDone(lease);
      else scheduleFlush(lease, FLUSH_LINGER_MS);
      return true;
    },

    async close() {
      closed = true;
      if (sweepTimer !== null) clearTimeout(sweepTimer);
      for (const lease of [...leases.values()]) closeLease(lease);
      // Corrections that arrived while a send was out follow it; a few rounds, since Redis may be gone for good.
      for (let round = 0; round < 5; round++) {
        const busy = [...unsettled].filter((lease) => lease.sending !== null || !isZero(lease.pending));
        if (busy.length === 0) return;
        for (const lease of busy) flush(lease);
        await Promise.allSettled(busy.map((lease) => lease.sending));
      }
    },
  };
}

/** A window as the lease's verdict saw it, `elapsedMs` later, with what the lease still holds counted as free. */
function withHeld(state: WindowState | null, held: number, elapsedMs: number): WindowState | null {
  return state && { limit: state.limit, remaining: state.remaining + held, resetMs: Math.max(0, state.resetMs - elapsedMs) };
}

function isZero(deltas: LeaseDeltas): boolean {
  return deltas.requests === 0 && deltas.tokens === 0 && deltas.micros === 0n;
}
