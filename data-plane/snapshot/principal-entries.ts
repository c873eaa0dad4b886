// One PrincipalEntry per user or virtual account with a live key: its effective policy (DESIGN rules 1–5, the
// shared/policy functions effectivePolicy is made of) turned into what the hot path looks up.
import {
  BUDGET_PERIODS,
  effectiveBudgets,
  effectiveLimits,
  LIMIT_DIMENSIONS,
  limitValuesOf,
  type BudgetSource,
  type EffectiveBudgets,
  type EffectiveLimits,
  type LimitSource,
  type Subject,
} from "../../shared/policy/index.ts";
import type { Bucket, PrincipalEntry } from "../contracts.ts";
import { groupByOwner, type PrincipalRows } from "./load-policy-rows.ts";
import { type HeldGrants, heldGrantsOf, policyAccessOf } from "./held-grants.ts";
import type { Catalogue } from "./route-targets.ts";
import { type UsableModelsCache, usableModelsCache } from "./usable-models.ts";

/** Keyed like the row index: `u:<userId>` or `v:<virtualAccountId>`. */
export type PrincipalsByOwner = Map<string, PrincipalEntry>;

/**
 * `usable` lets later partial builds share the models maps of the full build (same catalogue, same profiles); `held` is
 * the rows' grants and access by holder, which the caller also gives the index.
 */
export function buildPrincipalEntries(
  rows: PrincipalRows,
  catalogue: Catalogue,
  log: (line: string) => void,
  usable: UsableModelsCache = usableModelsCache(catalogue),
  held: HeldGrants = heldGrantsOf(rows, catalogue),
): PrincipalsByOwner {
  const limits = groupByOwner(rows.rateLimits);
  const budgets = groupByOwner(rows.budgets);
  const groupsOfUser = groupsByUser(rows);

  const principals: Array<{ owner: string; subject: Subject; groups: Subject[] }> = [];
  for (const u of rows.users) principals.push({ owner: `u:${u.id}`, subject: { kind: "user", id: u.id, name: u.email }, groups: groupsOfUser.get(u.id) ?? [] });
  for (const v of rows.virtualAccounts) principals.push({ owner: `v:${v.id}`, subject: { kind: "virtualAccount", id: v.id, name: v.name }, groups: [] });

  const entries: PrincipalsByOwner = new Map();
  for (const { owner, subject, groups } of principals) {
    // The principal's own rows first, so on a tie the principal is named as the source (shared/policy's contract).
    const holders = [{ key: owner, subject }, ...groups.map((g) => ({ key: `g:${g.id}`, subject: g }))];
    const { grants, access } = policyAccessOf(held, holders);
    const limitSources: LimitSource[] = [];
    const budgetSources: BudgetSource[] = [];
    for (const { key, subject: holder } of holders) {
      for (const l of limits.get(key) ?? []) {
        limitSources.push({ subject: holder, limits: limitValuesOf(l) });
      }
      for (const b of budgets.get(key) ?? []) budgetSources.push({ subject: holder, period: b.period, capMicros: b.capMicros });
    }
    try {
      const scope = subject.kind === "user" ? `user:${subject.id}` : `va:${subject.id}`;
      entries.set(owner, {
        kind: subject.kind === "user" ? "user" : "virtualAccount",
        id: subject.id,
        models: usable.modelsFor(subject, groups, grants, access),
        bucket: bucketOf(scope, effectiveLimits(limitSources), effectiveBudgets(budgetSources)),
      });
    } catch (error) {
      // A row shared/policy refuses (a negative cap) must not take every other principal down: this one's keys
      // are left out (refused as unknown) until the row is fixed, and the log says which row.
      log(`[tollgate] ${subject.kind} ${subject.id} left out of the snapshot: ${(error as Error).message}`);
    }
  }
  return entries;
}

function groupsByUser(rows: PrincipalRows): Map<string, Subject[]> {
  const subjects = new Map(rows.groups.map((g): [string, Subject] => [g.id, { kind: "group", id: g.id, name: g.name }]));
  const byUser = new Map<string, Subject[]>();
  for (const m of rows.memberships) {
    const group = subjects.get(m.groupId);
    if (!group) continue;
    const list = byUser.get(m.userId);
    if (list) list.push(group);
    else byUser.set(m.userId, [group]);
  }
  return byUser;
}

export function bucketOf(scope: string, limits: EffectiveLimits, budgets: EffectiveBudgets): Bucket {
  const bucket: Bucket = { scope, budgets: [] };
  for (const dimension of LIMIT_DIMENSIONS) {
    const limit = limits[dimension];
    if (limit) bucket[dimension] = limit.value;
  }
  for (const period of BUDGET_PERIODS) {
    const budget = budgets[period];
    if (budget) bucket.budgets.push({ period, capMicros: budget.capMicros });
  }
  return bucket;
}
