// Key revocations taken from their change events the moment they arrive, ahead of the re-read that applies each event
// in version order. A revocation is final (a revoked key never works again), so taking it early can only refuse what
// the database already refuses; it needs no read, so it also holds while this instance cannot reach Postgres or is
// still working through earlier events (DESIGN rule 7: revocation is immediate for new requests).
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { KeyEntry } from "../contracts.ts";

/** Only a plain revoke: a rotation keeps the old key working for its grace period. */
const REVOKE_ACTION = "apiKey.revoke";

export class EarlyRevocations {
  /** Key id → version of the event that revoked it, kept until a snapshot at that version (or later) is served. */
  private readonly pending = new Map<string, bigint>();

  /** Notes `event` if it revokes a key; returns whether it did. */
  note(event: ChangeEvent, version: bigint): boolean {
    if (event.action !== REVOKE_ACTION || event.targetType !== "ApiKey") return false;
    this.pending.set(event.targetId, version);
    return true;
  }

  /**
   * Takes the noted keys out of a snapshot's key map, in place as incremental changes patch it, and forgets those the
   * snapshot's version covers (it was read after their revocation committed). A snapshot read before a revocation (a
   * full rebuild that started earlier) therefore cannot bring the key back. The map has no index by key id, so this
   * scans it: revocations are rare, and a scan of 100k keys takes a few milliseconds.
   */
  applyTo(keysByHash: Map<string, KeyEntry>, snapshotVersion: bigint): number {
    for (const [keyId, version] of this.pending) if (version <= snapshotVersion) this.pending.delete(keyId);
    if (this.pending.size === 0) return 0;
    let dropped = 0;
    for (const [hash, key] of keysByHash) {
      if (!this.pending.has(key.keyId)) continue;
      keysByHash.delete(hash);
      dropped++;
    }
    return dropped;
  }
}
