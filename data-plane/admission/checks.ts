// The list of counters one request touches, in the order denials are reported; both admission engines walk it.
import type { Bucket } from "../contracts.ts";
import type { BudgetPeriod } from "../../shared/policy/index.ts";
import { budgetWindowOf } from "./windows.ts";

type LimitKind = "requests" | "requestsPerSecond" | "tokens" | "concurrency";
// One member per kind, so comparing `kind` narrows a Check all the way down to BudgetCheck.
export type LimitCheck = { [K in LimitKind]: { kind: K; scope: string; limit: number } }[LimitKind];
export type BudgetCheck = { kind: "budget"; scope: string; period: BudgetPeriod; capMicros: bigint; windowStart: number; windowEnd: number | null };
export type Check = LimitCheck | BudgetCheck;

/**
 * Per bucket: requests per minute, per second, tokens, concurrency, then budgets in the bucket's order. `at` picks the
 * budget windows. The minute comes before the second, so a client over both is told the longer wait.
 */
export function checksOf(buckets: readonly Bucket[], at: number): Check[] {
  const checks: Check[] = [];
  for (const bucket of buckets) {
    const { scope } = bucket;
    if (bucket.requestsPerMinute != null) checks.push({ kind: "requests", scope, limit: bucket.requestsPerMinute });
    if (bucket.requestsPerSecond != null) checks.push({ kind: "requestsPerSecond", scope, limit: bucket.requestsPerSecond });
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
