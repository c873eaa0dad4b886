// One KeyEntry per live key, indexed by the secret's hash: its owner's shared PrincipalEntry plus the key's own
// narrowing (DESIGN rule 6: a model list, and limits and budgets counted in a bucket of the key's own).
import { effectiveBudgets, effectiveLimits, LIMIT_DIMENSIONS, limitValuesOf, type Subject } from "../../shared/policy/index.ts";
import type { Bucket, KeyEntry } from "../contracts.ts";
import { groupByOwner, type PrincipalRows } from "./load-policy-rows.ts";
import { bucketOf, type PrincipalsByOwner } from "./principal-entries.ts";

export function buildKeyEntries(rows: PrincipalRows, principals: PrincipalsByOwner, log: (line: string) => void): Map<string, KeyEntry> {
  const limits = groupByOwner(rows.rateLimits);
  const budgets = groupByOwner(rows.budgets);
  const keysByHash = new Map<string, KeyEntry>();
  // Most keys have the same scopes and no model list: one shared read-only set per distinct list saves 100k+ sets.
  const sets = new Map<string, ReadonlySet<string>>();
  const setOf = (values: string[]) => {
    const id = values.join("\n");
    let set = sets.get(id);
    if (!set) sets.set(id, (set = new Set(values)));
    return set;
  };
  for (const key of rows.keys) {
    const principal = principals.get(key.userId ? `u:${key.userId}` : `v:${key.virtualAccountId}`);
    // No entry: the owner is not active (or was left out); the key is then refused like an unknown one.
    if (!principal) continue;
    try {
      keysByHash.set(key.hash, {
        keyId: key.id,
        prefix: key.prefix,
        principal,
        scopes: setOf(key.scopes),
        expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
        modelSlugs: setOf(key.modelSlugs),
        bucket: keyBucket(key, limits.get(`k:${key.id}`), budgets.get(`k:${key.id}`)),
      });
    } catch (error) {
      log(`[tollgate] API key ${key.id} left out of the snapshot: ${(error as Error).message}`);
    }
  }
  return keysByHash;
}

type LimitRow = PrincipalRows["rateLimits"][number];
type BudgetRow = PrincipalRows["budgets"][number];

function keyBucket(key: { id: string; prefix: string }, limitRows: LimitRow[] | undefined, budgetRows: BudgetRow[] | undefined): Bucket | null {
  if (!limitRows && !budgetRows) return null;
  const subject: Subject = { kind: "apiKey", id: key.id, name: key.prefix };
  const bucket = bucketOf(
    `key:${key.id}`,
    effectiveLimits((limitRows ?? []).map((l) => ({ subject, limits: limitValuesOf(l) }))),
    effectiveBudgets((budgetRows ?? []).map((b) => ({ subject, period: b.period, capMicros: b.capMicros }))),
  );
  // A limit row with every column null caps nothing: no counters to keep for it.
  const capsSomething = bucket.budgets.length > 0 || LIMIT_DIMENSIONS.some((dimension) => bucket[dimension] !== undefined);
  return capsSomething ? bucket : null;
}
