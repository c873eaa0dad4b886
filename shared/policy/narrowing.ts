// What an API key may do (policy rule 6): its owner's policy narrowed by the key's own model list, limits and budgets.
import { budgetSourcesOf, effectiveBudgets } from "./budgets.ts";
import { effectiveLimits, limitSourcesOf } from "./limits.ts";
import type { EffectivePolicy, KeyNarrowing } from "./types.ts";

/**
 * Never widens: slugs the owner cannot use are dropped, and the key's limits and budgets only count where
 * stricter. On a tie the owner's source is kept, since the key is then not what binds.
 * The principal stays the owner: the key acts for it.
 */
export function narrowForKey(policy: EffectivePolicy, key: KeyNarrowing): EffectivePolicy {
  const slugs = new Set(key.modelSlugs);
  const models = slugs.size === 0 ? policy.models : policy.models.filter((m) => slugs.has(m.model.slug));

  const limits = effectiveLimits([
    ...limitSourcesOf(policy.limits),
    { subject: key.keySubject, limits: key.limits ?? {} },
  ]);
  const budgets = effectiveBudgets([
    ...budgetSourcesOf(policy.budgets),
    ...(key.budgets ?? []).map((b) => ({ subject: key.keySubject, period: b.period, capMicros: b.capMicros })),
  ]);

  return { principal: policy.principal, models, limits, budgets };
}
