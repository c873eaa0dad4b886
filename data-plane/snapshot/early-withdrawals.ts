// Revoked grants and removed provider access taken from their change events the moment they arrive, ahead of the
// re-read that applies each event in version order. The event names the row's subject and its model (or provider);
// it leaves the grant (or access) lists the snapshot's index keeps per principal and group, and each affected
// principal's usable models are recomputed from those lists with the same functions a build uses (a model still
// granted through a group, or reached through other access, stays). That is exact only while the lists are current, so
// a withdrawal is applied only when every event between the snapshot and it cannot have changed anyone's grants, access
// or groups; otherwise the re-read applies it as before.
import { z } from "zod";
import type { ChangeEvent, ChangeSubject } from "../../control-plane/events/change-event.ts";
import type { PolicyGrant, PolicyProviderAccess, Subject } from "../../shared/policy/index.ts";
import type { PrincipalEntry } from "../contracts.ts";
import { changeSubjectSchema, holderKey, ownersOf, type SnapshotIndex } from "./snapshot-index.ts";
import type { UsableModels } from "./usable-models.ts";

const grantSchema = z.object({ subject: changeSubjectSchema, modelId: z.string() });
const accessSchema = z.object({ subject: changeSubjectSchema, providerId: z.string() });

/** A grant (modelId) or a provider-access row (providerId) taken from a subject. */
type Withdrawal = { subject: ChangeSubject; modelId: string; providerId?: undefined } | { subject: ChangeSubject; providerId: string; modelId?: undefined };

/** Changes that never touch grants, provider access, memberships or the catalogue (keys, limits, budgets). */
const GRANT_NEUTRAL_KINDS: ReadonlySet<string> = new Set(["API_KEY", "LIMIT", "BUDGET"]);
/** Beyond this many events between the snapshot and a revocation, checking them is not worth it: the re-read applies it. */
const MAX_LOOKBEHIND = 1_000n;

const byVersion = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

export class EarlyWithdrawals {
  /** Version → what its event took away, kept until a snapshot at that version (or later) is served. */
  private readonly pending = new Map<bigint, Withdrawal>();

  /** Notes `event` if it revokes a grant or removes provider access and names the row in full; returns whether it did. */
  note(event: ChangeEvent, version: bigint): boolean {
    const parsed =
      event.action === "grant.revoke" && event.revokedGrant !== undefined
        ? grantSchema.safeParse(event.revokedGrant)
        : event.action === "providerAccess.remove" && event.removedAccess !== undefined
          ? accessSchema.safeParse(event.removedAccess)
          : null;
    if (!parsed?.success) return false;
    this.pending.set(version, parsed.data);
    return true;
  }

  /**
   * Applies the noted withdrawals the snapshot does not cover yet, in version order, as far as each one's predecessors
   * allow (`kinds`: the kind of every event received beyond the snapshot, by version), and forgets those it covers. Applied again
   * after every swap: a snapshot read before a withdrawal (a full rebuild that started earlier) cannot bring the row
   * back, and one waiting for its predecessors is applied once they are. Returns how many principals changed.
   */
  applyTo(index: SnapshotIndex, snapshotVersion: bigint, kinds: ReadonlyMap<bigint, string>): number {
    let changed = 0;
    for (const version of [...this.pending.keys()].sort(byVersion)) {
      if (version <= snapshotVersion) {
        this.pending.delete(version);
        continue;
      }
      // A later withdrawal has this one's predecessors too.
      if (!this.exactAfter(snapshotVersion, version, kinds)) break;
      changed += withdraw(index, this.pending.get(version)!);
    }
    return changed;
  }

  /** Whether the index's lists, with the noted withdrawals before `version` applied, are the database's at `version - 1`. */
  private exactAfter(snapshotVersion: bigint, version: bigint, kinds: ReadonlyMap<bigint, string>): boolean {
    if (version - snapshotVersion > MAX_LOOKBEHIND) return false;
    for (let v = snapshotVersion + 1n; v < version; v++) {
      if (this.pending.has(v)) continue;
      const kind = kinds.get(v);
      if (kind === undefined || !GRANT_NEUTRAL_KINDS.has(kind)) return false;
    }
    return true;
  }
}

function withdraw(index: SnapshotIndex, withdrawal: Withdrawal): number {
  const holder = holderKey(withdrawal.subject);
  // Not there: the lists were read after the change, and so were the entries built from them.
  if (withdrawal.modelId !== undefined) {
    const granted = index.grantsOf.get(holder);
    const at = granted?.indexOf(withdrawal.modelId) ?? -1;
    if (!granted || at < 0) return 0;
    index.grantsOf.set(holder, granted.filter((_, i) => i !== at));
  } else {
    const access = index.accessOf.get(holder);
    const at = access?.findIndex((row) => row.providerId === withdrawal.providerId) ?? -1;
    if (!access || at < 0) return 0;
    index.accessOf.set(holder, access.filter((_, i) => i !== at));
  }
  let changed = 0;
  for (const owner of ownersOf(index, withdrawal.subject)) {
    const entry = index.principals.get(owner);
    if (!entry) continue;
    const models = modelsFromIndex(index, owner, entry);
    if (models === entry.models) continue;
    entry.models = models;
    changed++;
  }
  return changed;
}

/** A principal's usable models from the index's grant and access lists: what principal-entries.ts computes from rows. */
function modelsFromIndex(index: SnapshotIndex, owner: string, entry: PrincipalEntry): UsableModels {
  // Names only label the reasons effectiveModelAccess gives, which the snapshot does not keep.
  const principal: Subject = { kind: entry.kind, id: entry.id, name: "" };
  const groups: Subject[] = entry.kind === "user" ? (index.groupsOfUser.get(entry.id) ?? []).map((id) => ({ kind: "group", id, name: "" })) : [];
  const grants: PolicyGrant[] = [];
  const access: PolicyProviderAccess[] = [];
  for (const [holder, subject] of [[owner, principal] as const, ...groups.map((g) => [`g:${g.id}`, g] as const)]) {
    for (const modelId of index.grantsOf.get(holder) ?? []) grants.push({ modelId, subject });
    for (const row of index.accessOf.get(holder) ?? []) access.push({ providerId: row.providerId, level: row.level, subject });
  }
  return index.usable.modelsFor(principal, groups, grants, access);
}
