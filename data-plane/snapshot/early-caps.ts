// Lowered rate limits and budgets taken from their change events ahead of the re-read (early-changes.ts). The event carries the caps the change wrote; each affected principal's
// bucket takes, per dimension, the lower of what it enforces now and the new cap. Effective limits are the strictest of
// all sources (DESIGN rule 4), so that is exactly the new effective limit when a cap goes down, and changes nothing when
// one goes up (the re-read raises it). Never looser than what is enforced already, so it is safe in any order, without
// a read, and while this instance cannot reach Postgres.
import { z } from "zod";
import type { ChangeEvent, ChangeSubject } from "../../control-plane/events/change-event.ts";
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

/** The subject and what `event`'s caps lower, or null when it carries none that can be read (left to the re-read). */
export function capsOf(event: ChangeEvent): { subject: ChangeSubject; tightening: Tightening } | null {
  if (event.caps === undefined) return null;
  const parsed = capsSchema.safeParse(event.caps);
  if (!parsed.success) return null;
  const { subject, limits, budget } = parsed.data;
  const tightening: Tightening = { limits: {}, budget: budget ? { period: budget.period, capMicros: BigInt(budget.capMicros) } : null };
  for (const dimension of LIMIT_DIMENSIONS) {
    const value = limits?.[dimension];
    if (value != null) tightening.limits[dimension] = value;
  }
  return { subject, tightening };
}

/** Lowers the buckets of the principals the caps apply to (replacing each bucket object: requests in flight keep theirs). */
export function tightenPrincipals(index: SnapshotIndex, subject: ChangeSubject, tightening: Tightening): void {
  for (const owner of ownersOf(index, subject)) {
    const entry = index.principals.get(owner);
    if (entry) entry.bucket = tightenBucket(entry.bucket, tightening);
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
