// Disabled users and virtual accounts taken from their change events the moment they arrive, ahead of the re-read:
// every key of the principal leaves the snapshot's key map. Disabling only takes access away, so acting early can
// only refuse what the database already refuses (an enable committed later is the re-read's to restore).
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { KeyEntry } from "../contracts.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

/** The disabling actions, by the owner-key prefix of the principal they name in targetId. */
const DISABLES: Record<string, { targetType: string; prefix: string }> = {
  "user.disable": { targetType: "User", prefix: "u:" },
  "virtualAccount.disable": { targetType: "VirtualAccount", prefix: "v:" },
};

export class EarlyDisables {
  /** Owner key (`u:` / `v:`) → version of the event that disabled it, kept until a snapshot at that version is served. */
  private readonly pending = new Map<string, bigint>();

  /** Notes `event` if it disables a principal; returns whether it did. */
  note(event: ChangeEvent, version: bigint): boolean {
    const disable = DISABLES[event.action];
    if (!disable || event.targetType !== disable.targetType) return false;
    this.pending.set(`${disable.prefix}${event.targetId}`, version);
    return true;
  }

  /** Takes the noted principals' keys out of a snapshot's key map (in place) and forgets what its version covers. */
  applyTo(keysByHash: Map<string, KeyEntry>, index: SnapshotIndex, snapshotVersion: bigint): number {
    let dropped = 0;
    for (const [owner, version] of this.pending) {
      if (version <= snapshotVersion) {
        this.pending.delete(owner);
        continue;
      }
      const entry = index.principals.get(owner);
      if (!entry) continue;
      for (const hash of index.keyHashes.get(entry) ?? []) {
        const key = keysByHash.get(hash);
        if (key?.principal !== entry) continue;
        keysByHash.delete(hash);
        index.hashByKeyId.delete(key.keyId);
        dropped++;
      }
    }
    return dropped;
  }
}
