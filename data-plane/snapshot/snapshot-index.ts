// What a snapshot needs besides itself to take a change without a full rebuild: its catalogue, which keys and
// memberships it holds for each principal (so members removed since, or of a deleted group, can still be traced), and
// what each principal and group is granted (so a revoked grant can be withdrawn before the re-read).
import { z } from "zod";
import type { ChangeSubject } from "../../control-plane/events/change-event.ts";
import type { KeyEntry, PrincipalEntry } from "../contracts.ts";
import type { HeldGrants } from "./held-grants.ts";
import type { PrincipalRows } from "./load-policy-rows.ts";
import type { PrincipalsByOwner } from "./principal-entries.ts";
import type { Catalogue } from "./route-targets.ts";
import type { UsableModelsCache } from "./usable-models.ts";

export interface SnapshotIndex extends HeldGrants {
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
  // grantsOf / accessOf (HeldGrants): the principals' and groups' lists as last read.
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
export function indexBuilt(index: SnapshotIndex, rows: PrincipalRows, principals: PrincipalsByOwner, keys: Map<string, KeyEntry>, held: HeldGrants): void {
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
  // `held` is complete for every principal and group the rows list (forgotten principals' lists went with them).
  for (const group of rows.groups) {
    index.grantsOf.delete(`g:${group.id}`);
    index.accessOf.delete(`g:${group.id}`);
  }
  const kept = (holder: string) => holder.startsWith("g:") || index.principals.has(holder);
  for (const [holder, models] of held.grantsOf) if (kept(holder)) index.grantsOf.set(holder, models);
  for (const [holder, rows] of held.accessOf) if (kept(holder)) index.accessOf.set(holder, rows);
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
    dropKeysOf(index, keysByHash, entry);
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

/** Takes a principal's keys out of the key map and the key-id index (the entry and its index rows stay). */
export function dropKeysOf(index: SnapshotIndex, keysByHash: Map<string, KeyEntry>, entry: PrincipalEntry): void {
  for (const hash of index.keyHashes.get(entry) ?? []) {
    const key = keysByHash.get(hash);
    if (key?.principal === entry) dropKey(index, keysByHash, hash, key.keyId);
  }
}

/** Takes one key out of the key map and the key-id index. */
export function dropKey(index: SnapshotIndex, keysByHash: Map<string, KeyEntry>, hash: string, keyId: string): void {
  keysByHash.delete(hash);
  index.hashByKeyId.delete(keyId);
}
