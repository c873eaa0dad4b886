// A principal's whole effective policy: models it may use (rules 1–3), limits (rule 4) and budgets (rule 5).
import { effectiveModelAccess } from "./access.ts";
import { effectiveBudgets } from "./budgets.ts";
import { effectiveLimits } from "./limits.ts";
import type { EffectivePolicy, PrincipalPolicyInput } from "./types.ts";

/**
 * Limit and budget sources are taken as given: the caller passes only those of the principal and its groups.
 * Pass the principal's own first, so on a tie the principal is reported as the source.
 */
export function effectivePolicy(input: PrincipalPolicyInput): EffectivePolicy {
  return {
    principal: input.principal,
    models: effectiveModelAccess(input),
    limits: effectiveLimits(input.limits),
    budgets: effectiveBudgets(input.budgets),
  };
}
