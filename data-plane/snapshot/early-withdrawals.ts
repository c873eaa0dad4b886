// Revoked grants and removed provider access taken from their change events ahead of the re-read (early-changes.ts).
// The event names the row's subject and its model (or provider); it leaves the grant (or access) lists the snapshot's
// index keeps per principal and group, and each affected
// principal's usable models are recomputed from those lists with the same functions a build uses (a model still
// granted through a group, or reached through other access, stays). That is exact only while the lists are current,
// which early-changes.ts checks before calling withdraw.
import { z } from "zod";
import type { ChangeEvent, ChangeSubject } from "../../control-plane/events/change-event.ts";
import type { Subject } from "../../shared/policy/index.ts";
import type { PrincipalEntry } from "../contracts.ts";
import { policyAccessOf } from "./held-grants.ts";
import { changeSubjectSchema, holderKey, ownersOf, type SnapshotIndex } from "./snapshot-index.ts";
import type { UsableModels } from "./usable-models.ts";

const grantSchema = z.object({ subject: changeSubjectSchema, modelId: z.string() });
const accessSchema = z.object({ subject: changeSubjectSchema, providerId: z.string() });

/** A grant (modelId) or a provider-access row (providerId) taken from a subject. */
export type Withdrawal = { subject: ChangeSubject; modelId: string; providerId?: undefined } | { subject: ChangeSubject; providerId: string; modelId?: undefined };

/** The grant or access row `event` takes away, when it names it in full; otherwise null (left to the re-read). */
export function withdrawalOf(event: ChangeEvent): Withdrawal | null {
  const parsed =
    event.action === "grant.revoke" && event.revokedGrant !== undefined
      ? grantSchema.safeParse(event.revokedGrant)
      : event.action === "providerAccess.remove" && event.removedAccess !== undefined
        ? accessSchema.safeParse(event.removedAccess)
        : null;
  return parsed?.success ? parsed.data : null;
}

/** Drops the row from the index's lists and recomputes the affected principals' models; callers check it is exact. */
export function withdraw(index: SnapshotIndex, withdrawal: Withdrawal): void {
  const holder = holderKey(withdrawal.subject);
  // Not there: the lists were read after the change, and so were the entries built from them.
  if (withdrawal.modelId !== undefined) {
    const granted = index.grantsOf.get(holder);
    const at = granted?.indexOf(withdrawal.modelId) ?? -1;
    if (!granted || at < 0) return;
    index.grantsOf.set(holder, granted.filter((_, i) => i !== at));
  } else {
    const access = index.accessOf.get(holder);
    const at = access?.findIndex((row) => row.providerId === withdrawal.providerId) ?? -1;
    if (!access || at < 0) return;
    index.accessOf.set(holder, access.filter((_, i) => i !== at));
  }
  for (const owner of ownersOf(index, withdrawal.subject)) {
    const entry = index.principals.get(owner);
    if (entry) entry.models = modelsFromIndex(index, owner, entry);
  }
}

/** A principal's usable models from the index's grant and access lists, assembled as principal-entries.ts does. */
function modelsFromIndex(index: SnapshotIndex, owner: string, entry: PrincipalEntry): UsableModels {
  // Names only label the reasons effectiveModelAccess gives, which the snapshot does not keep.
  const principal: Subject = { kind: entry.kind, id: entry.id, name: "" };
  const groups: Subject[] = entry.kind === "user" ? (index.groupsOfUser.get(entry.id) ?? []).map((id) => ({ kind: "group", id, name: "" })) : [];
  const { grants, access } = policyAccessOf(index, [{ key: owner, subject: principal }, ...groups.map((g) => ({ key: `g:${g.id}`, subject: g }))]);
  return index.usable.modelsFor(principal, groups, grants, access);
}
