// Key revocations, and disabled users and virtual accounts (all their keys), taken from their change events ahead of
// the re-read (early-changes.ts). Both only take access away: a revoked key never works again, and an enable committed
// later is the re-read's to restore, so acting early can only refuse what the database already refuses (DESIGN rule 7:
// revocation is immediate for new requests).
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { KeyEntry } from "../contracts.ts";
import { dropKey, dropKeysOf, holderKey, type SnapshotIndex } from "./snapshot-index.ts";

/** Only a plain revoke: a rotation keeps the old key working for its grace period. */
const REVOKE_ACTION = "apiKey.revoke";
/** The disabling actions, by the subject type they name in targetId. */
const DISABLES: Record<string, "User" | "VirtualAccount"> = { "user.disable": "User", "virtualAccount.disable": "VirtualAccount" };

/** The id of the key `event` revokes, or null. */
export function revokedKeyOf(event: ChangeEvent): string | null {
  return event.action === REVOKE_ACTION && event.targetType === "ApiKey" ? event.targetId : null;
}

/** The owner key (`u:` / `v:`) of the principal `event` disables, or null. */
export function disabledOwnerOf(event: ChangeEvent): string | null {
  const type = DISABLES[event.action];
  return type !== undefined && event.targetType === type ? holderKey({ type, id: event.targetId }) : null;
}

/**
 * Takes the key out of a snapshot's key map (in place, as incremental changes patch it), by the index rather than a
 * scan of the map: a scan runs too rarely to be optimised, and took 25-45 ms of blocked event loop at 100k keys.
 */
export function revokeKey(keysByHash: Map<string, KeyEntry>, index: SnapshotIndex, keyId: string): void {
  const hash = index.hashByKeyId.get(keyId);
  if (hash !== undefined && keysByHash.get(hash)?.keyId === keyId) dropKey(index, keysByHash, hash, keyId);
}

/** Takes every key of the principal out of a snapshot's key map (in place). */
export function disableOwner(keysByHash: Map<string, KeyEntry>, index: SnapshotIndex, owner: string): void {
  const entry = index.principals.get(owner);
  if (entry) dropKeysOf(index, keysByHash, entry);
}
