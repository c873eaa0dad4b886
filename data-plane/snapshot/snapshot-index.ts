// What a snapshot needs besides itself to take a change without a full rebuild: its catalogue, which keys and
// memberships it holds for each principal (so members removed since, or of a deleted group, can still be traced), and
// what each principal and group is granted (so a revoked grant can be withdrawn before the re-read).
import { z } from "zod";
import type { ChangeSubject } from "../../control-plane/events/change-event.ts";
import type { ProviderAccessLevel } from "../../shared/policy/index.ts";
import type { KeyEntry, PrincipalEntry } from "../contracts.ts";
import { ownerKeyOf, type PrincipalRows } from "./load-policy-rows.ts";
import type { PrincipalsByOwner } from "./principal-entries.ts";
import type { Catalogue } from "./route-targets.ts";
import type { UsableModelsCache } from "./usable-models.ts";

export interface SnapshotIndex {
  catalogue: Catalogue;
  /** The full build's models maps by access profile, shared with principals rebuilt later. */
  usable: UsableModelsCache;
  /** `u:<id>` / `v:<id>` → the principal's entry in the snapshot. */
  principals: PrincipalsByOwner;
  /** A principal's keys in keysByHash (by hash). */
  keyHashes: Map<PrincipalEntry, string[]>;
  /** Key id → its hash in keysByHash: a revocation event names the key by id (early-revocations.ts). */
  hashByKeyId: Map<string, string>;
  /** userId → ids of the groups the snapshot counts the user in, and groupId → those members. */
  groupsOfUser: Map<string, string[]>;
  membersOfGroup: Map<string, Set<string>>;
  /** Holder (`u:`, `g:` or `v:` and its id: principals and groups) → ids of the models granted to it, as last read. */
  grantsOf: Map<string, string[]>;
  /** Holder → its provider access rows, as last read. */
  accessOf: Map<string, Array<{ providerId: string; level: ProviderAccessLevel }>>;
}

export function createSnapshotIndex(catalogue: Catalogue, usable: UsableModelsCache): SnapshotIndex {
  return {
    catalogue,
    usable,
    principals: new Map(),
    keyHashes: new Map(),
    hashByKeyId: new Map(),
    groupsOfUser: new Map(),
    membersOfGroup: new Map(),
    grantsOf: new Map(),
    accessOf: new Map(),
  };
}

/** Records what a (full or partial) build produced from `rows`; the principals it names must have been forgotten first. */
export function indexBuilt(index: SnapshotIndex, rows: PrincipalRows, principals: PrincipalsByOwner, keys: Map<string, KeyEntry>): void {
  for (const [owner, entry] of principals) index.principals.set(owner, entry);
  for (const [hash, key] of keys) {
    index.hashByKeyId.set(key.keyId, hash);
    const hashes = index.keyHashes.get(key.principal);
    if (hashes) hashes.push(hash);
    else index.keyHashes.set(key.principal, [hash]);
  }
  // Every membership row has its own copies of the two ids: keep the entries' and groups' strings instead.
  const ids = new Map<string, string>();
  for (const entry of principals.values()) ids.set(entry.id, entry.id);
  for (const group of rows.groups) ids.set(group.id, group.id);
  for (const m of rows.memberships) {
    const userId = ids.get(m.userId) ?? m.userId;
    const groupId = ids.get(m.groupId) ?? m.groupId;
    const groups = index.groupsOfUser.get(userId);
    if (groups) groups.push(groupId);
    else index.groupsOfUser.set(userId, [groupId]);
    const members = index.membersOfGroup.get(groupId);
    if (members) members.add(userId);
    else index.membersOfGroup.set(groupId, new Set([userId]));
  }
  // The rows hold every grant and access row of the groups they list (forgotten principals' went with them).
  for (const group of rows.groups) {
    index.grantsOf.delete(`g:${group.id}`);
    index.accessOf.delete(`g:${group.id}`);
  }
  const kept = (holder: string) => holder.startsWith("g:") || index.principals.has(holder);
  for (const grant of rows.grants) {
    const holder = ownerKeyOf(grant);
    if (!kept(holder)) continue;
    // The catalogue's copy of the id: 100k grants name about a hundred models.
    const modelId = index.catalogue.policyModels.get(grant.modelId)?.id ?? grant.modelId;
    const list = index.grantsOf.get(holder);
    if (list) list.push(modelId);
    else index.grantsOf.set(holder, [modelId]);
  }
  for (const access of rows.providerAccess) {
    const holder = ownerKeyOf(access);
    if (!kept(holder)) continue;
    const row = { providerId: access.providerId, level: access.level };
    const list = index.accessOf.get(holder);
    if (list) list.push(row);
    else index.accessOf.set(holder, [row]);
  }
}

const HOLDER_PREFIX: Record<ChangeSubject["type"], string> = { User: "u:", Group: "g:", VirtualAccount: "v:" };

/** The key of `subject`'s own rows in the index (`u:`, `g:` or `v:` and its id). */
export function holderKey(subject: ChangeSubject): string {
  return `${HOLDER_PREFIX[subject.type]}${subject.id}`;
}

/** A change event's subject as it arrives from the bus (validated before any of it is used). */
export const changeSubjectSchema = z.object({ type: z.enum(["User", "Group", "VirtualAccount"]), id: z.string() });

/** The principals (`u:` / `v:` keys) a limit, budget or grant of `subject` applies to: itself, or a group's members. */
export function ownersOf(index: SnapshotIndex, subject: ChangeSubject): string[] {
  if (subject.type === "User") return [`u:${subject.id}`];
  if (subject.type === "VirtualAccount") return [`v:${subject.id}`];
  return [...(index.membersOfGroup.get(subject.id) ?? [])].map((userId) => `u:${userId}`);
}

/** Takes a principal out of the snapshot and the index: its keys, its entry and its memberships. */
export function forgetPrincipal(index: SnapshotIndex, keysByHash: Map<string, KeyEntry>, owner: string): void {
  const entry = index.principals.get(owner);
  if (entry) {
    for (const hash of index.keyHashes.get(entry) ?? []) {
      const key = keysByHash.get(hash);
      if (key?.principal !== entry) continue;
      keysByHash.delete(hash);
      index.hashByKeyId.delete(key.keyId);
    }
    index.keyHashes.delete(entry);
    index.principals.delete(owner);
  }
  index.grantsOf.delete(owner);
  index.accessOf.delete(owner);
  if (!owner.startsWith("u:")) return;
  const userId = owner.slice(2);
  for (const groupId of index.groupsOfUser.get(userId) ?? []) index.membersOfGroup.get(groupId)?.delete(userId);
  index.groupsOfUser.delete(userId);
}
