// The reservation a ticket carries, in the units the counters store, so settlement subtracts exactly what was added.
import type { AdmissionTicket, Bucket } from "../contracts.ts";

/**
 * How long a concurrency slot is held when its settle never comes (the instance crashed). Longer than any sane
 * request, so live streams keep their slot; a request outliving it simply stops counting against concurrency.
 */
export const DEFAULT_CONCURRENCY_LEASE_MS = 15 * 60_000;

/** Token counts as the counters store them: whole, non-negative (Redis HINCRBY rejects fractions). */
export function wholeTokens(tokens: number): number {
  return Number.isFinite(tokens) && tokens > 0 ? Math.ceil(tokens) : 0;
}

export function wholeMicros(micros: bigint): bigint {
  return micros > 0n ? micros : 0n;
}

export function ticketFor(id: string, buckets: Bucket[], estimate: { tokens: number; micros: bigint }, at: number): AdmissionTicket {
  return { id, buckets, reservedTokens: wholeTokens(estimate.tokens), reservedMicros: wholeMicros(estimate.micros), at };
}

/** What settling changes a reservation by: actual − reserved, in the counters' whole tokens and micro-dollars. */
export function correctionOf(ticket: AdmissionTicket, actual: { tokens: number; micros: bigint }): { tokens: number; micros: bigint } {
  return { tokens: wholeTokens(actual.tokens) - ticket.reservedTokens, micros: wholeMicros(actual.micros) - ticket.reservedMicros };
}
