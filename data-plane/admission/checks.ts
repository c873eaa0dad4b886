// The list of counters one request touches, in the order denials are reported; both admission engines walk it.
import type { Bucket } from "../contracts.ts";
import type { BudgetPeriod } from "../../shared/policy/index.ts";
import { budgetWindowOf } from "./windows.ts";

import { EXACT_MINUTE_LIMIT, MINUTE_MS, SECOND_MS } from "./windows.ts";

type LimitKind = "requests" | "tokens" | "concurrency";
// One member per kind, so comparing `kind` narrows a Check all the way down to BudgetCheck.
export type LimitCheck = { [K in LimitKind]: { kind: K; scope: string; limit: number } }[LimitKind];
/** Requests counted exactly, one entry per admission, over `windowMs` (windows.ts explains when). */
export type RequestLogCheck = { kind: "requestLog"; scope: string; limit: number; windowMs: number };
export type BudgetCheck = { kind: "budget"; scope: string; period: BudgetPeriod; capMicros: bigint; windowStart: number; windowEnd: number | null };
export type Check = LimitCheck | RequestLogCheck | BudgetCheck;

/**
 * Per bucket: requests per minute, per second, tokens, concurrency, then budgets in the bucket's order. `at` picks the
 * budget windows. The minute comes before the second, so a client over both is told the longer wait.
 */
export function checksOf(buckets: readonly Bucket[], at: number): Check[] {
  const checks: Check[] = [];
  for (const bucket of buckets) {
    const { scope } = bucket;
    const rpm = bucket.requestsPerMinute;
    if (rpm != null) checks.push(rpm <= EXACT_MINUTE_LIMIT ? { kind: "requestLog", scope, limit: rpm, windowMs: MINUTE_MS } : { kind: "requests", scope, limit: rpm });
    if (bucket.requestsPerSecond != null) checks.push({ kind: "requestLog", scope, limit: bucket.requestsPerSecond, windowMs: SECOND_MS });
    if (bucket.tokensPerMinute != null) checks.push({ kind: "tokens", scope, limit: bucket.tokensPerMinute });
    if (bucket.concurrentRequests != null) checks.push({ kind: "concurrency", scope, limit: bucket.concurrentRequests });
    for (const budget of bucket.budgets) {
      const window = budgetWindowOf(budget.period, at);
      checks.push({ kind: "budget", scope, period: budget.period, capMicros: budget.capMicros, windowStart: window.start, windowEnd: window.end });
    }
  }
  return checks;
}

export function hasBudgets(buckets: readonly Bucket[]): boolean {
  return buckets.some((bucket) => bucket.budgets.length > 0);
}

export function hasRateLimits(buckets: readonly Bucket[]): boolean {
  return buckets.some((b) => b.requestsPerMinute != null || b.requestsPerSecond != null || b.tokensPerMinute != null || b.concurrentRequests != null);
}
