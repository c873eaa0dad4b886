// Lowered rate limits and budgets taken from their change events the moment they arrive, ahead of the re-read that
// applies each event in version order. The event carries the caps the change wrote; each affected principal's
// bucket takes, per dimension, the lower of what it enforces now and the new cap. Effective limits are the strictest of
// all sources (DESIGN rule 4), so that is exactly the new effective limit when a cap goes down, and changes nothing when
// one goes up (the re-read raises it). Never looser than what is enforced already, so it is safe in any order, without
// a read, and while this instance cannot reach Postgres.
import { z } from "zod";
import type { ChangedCaps, ChangeEvent } from "../../control-plane/events/change-event.ts";
import { BUDGET_PERIODS, type BudgetPeriod, LIMIT_DIMENSIONS, type LimitDimension } from "../../shared/policy/index.ts";
import type { Bucket } from "../contracts.ts";
import { changeSubjectSchema, ownersOf, type SnapshotIndex } from "./snapshot-index.ts";

const cap = z.number().int().nonnegative().nullable().optional();
const capsSchema = z.object({
  subject: changeSubjectSchema,
  limits: z.object({ requestsPerMinute: cap, requestsPerSecond: cap, tokensPerMinute: cap, concurrentRequests: cap }).optional(),
  budget: z.object({ period: z.enum(BUDGET_PERIODS), capMicros: z.string().regex(/^\d{1,30}$/) }).optional(),
});

/** What an event's caps lower: limits per dimension, and at most one budget period. */
export interface Tightening {
  limits: Partial<Record<LimitDimension, number>>;
  budget: { period: BudgetPeriod; capMicros: bigint } | null;
}

export class EarlyCaps {
  /** Version → the caps its event set, kept until a snapshot at that version (or later) is served. */
  private readonly pending = new Map<bigint, { subject: ChangedCaps["subject"]; tightening: Tightening }>();

  /** Notes `event` if it carries caps that can be read (anything else is left to the re-read); returns whether it did. */
  note(event: ChangeEvent, version: bigint): boolean {
    if (event.caps === undefined) return false;
    const parsed = capsSchema.safeParse(event.caps);
    if (!parsed.success) return false;
    const { subject, limits, budget } = parsed.data;
    const tightening: Tightening = { limits: {}, budget: budget ? { period: budget.period, capMicros: BigInt(budget.capMicros) } : null };
    for (const dimension of LIMIT_DIMENSIONS) {
      const value = limits?.[dimension];
      if (value != null) tightening.limits[dimension] = value;
    }
    this.pending.set(version, { subject, tightening });
    return true;
  }

  /**
   * Lowers the buckets of the principals the noted caps apply to (replacing each bucket object: requests in flight keep
   * theirs), and forgets those the snapshot's version covers. Applied again after every swap, so a snapshot read before
   * the change (a full rebuild that started earlier) cannot bring the old cap back. Returns how many buckets changed.
   */
  applyTo(index: SnapshotIndex, snapshotVersion: bigint): number {
    let changed = 0;
    for (const [version, { subject, tightening }] of this.pending) {
      if (version <= snapshotVersion) {
        this.pending.delete(version);
        continue;
      }
      for (const owner of ownersOf(index, subject)) {
        const entry = index.principals.get(owner);
        if (!entry) continue;
        const bucket = tightenBucket(entry.bucket, tightening);
        if (bucket === entry.bucket) continue;
        entry.bucket = bucket;
        changed++;
      }
    }
    return changed;
  }
}

/** `bucket` with every cap of `tightening` that is lower than its own (a new object), or `bucket` itself when none is. */
export function tightenBucket(bucket: Bucket, tightening: Tightening): Bucket {
  let next: Bucket | null = null;
  const copy = () => (next ??= { ...bucket, budgets: [...bucket.budgets] });
  for (const dimension of LIMIT_DIMENSIONS) {
    const value = tightening.limits[dimension];
    if (value === undefined) continue;
    const current = bucket[dimension];
    if (current === undefined || value < current) copy()[dimension] = value;
  }
  const budget = tightening.budget;
  if (budget) {
    const current = bucket.budgets.find((b) => b.period === budget.period);
    if (current === undefined || budget.capMicros < current.capMicros) {
      const budgets = copy().budgets.filter((b) => b.period !== budget.period);
      budgets.push({ period: budget.period, capMicros: budget.capMicros });
      // The order bucketOf gives them (checks run in it).
      budgets.sort((a, b) => BUDGET_PERIODS.indexOf(a.period) - BUDGET_PERIODS.indexOf(b.period));
      copy().budgets = budgets;
    }
  }
  return next ?? bucket;
}
