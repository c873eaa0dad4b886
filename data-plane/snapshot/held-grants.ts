// What each holder (`u:`, `g:` or `v:` and its id) is granted and has provider access to, grouped once from the rows:
// the entry builders read it, and the snapshot index keeps it so a withdrawn grant or access row can be applied before
// the re-read (early-withdrawals.ts) with the same assembly.
import type { PolicyGrant, PolicyProviderAccess, ProviderAccessLevel, Subject } from "../../shared/policy/index.ts";
import { ownerKeyOf, type PrincipalRows } from "./load-policy-rows.ts";
import type { Catalogue } from "./route-targets.ts";

export interface HeldGrants {
  /** Holder → ids of the models granted to it. */
  grantsOf: Map<string, string[]>;
  /** Holder → its provider access rows. */
  accessOf: Map<string, Array<{ providerId: string; level: ProviderAccessLevel }>>;
}

export function heldGrantsOf(rows: Pick<PrincipalRows, "grants" | "providerAccess">, catalogue: Catalogue): HeldGrants {
  const held: HeldGrants = { grantsOf: new Map(), accessOf: new Map() };
  for (const grant of rows.grants) {
    // The catalogue's copy of the id: 100k grants name about a hundred models.
    push(held.grantsOf, ownerKeyOf(grant), catalogue.policyModels.get(grant.modelId)?.id ?? grant.modelId);
  }
  for (const access of rows.providerAccess) push(held.accessOf, ownerKeyOf(access), { providerId: access.providerId, level: access.level });
  return held;
}

/** What the holders (a principal first, then its groups) are granted and may access, as shared/policy takes it. */
export function policyAccessOf(held: HeldGrants, holders: ReadonlyArray<{ key: string; subject: Subject }>): { grants: PolicyGrant[]; access: PolicyProviderAccess[] } {
  const grants: PolicyGrant[] = [];
  const access: PolicyProviderAccess[] = [];
  for (const { key, subject } of holders) {
    for (const modelId of held.grantsOf.get(key) ?? []) grants.push({ modelId, subject });
    for (const row of held.accessOf.get(key) ?? []) access.push({ providerId: row.providerId, level: row.level, subject });
  }
  return { grants, access };
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
