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
   * Takes the noted keys out of a snapshot's key map (in place, as incremental changes patch it) and out of its index,
   * and forgets those the snapshot's version covers (it was read after their revocation committed). A snapshot read
   * before a revocation (a full rebuild that started earlier) therefore cannot bring the key back. By the index, not a
   * scan of the map: a scan runs too rarely to be optimised, and took 25-45 ms of blocked event loop at 100k keys.
   */
  applyTo(keysByHash: Map<string, KeyEntry>, hashByKeyId: Map<string, string>, snapshotVersion: bigint): number {
    let dropped = 0;
    for (const [keyId, version] of this.pending) {
      if (version <= snapshotVersion) {
        this.pending.delete(keyId);
        continue;
      }
      const hash = hashByKeyId.get(keyId);
      if (hash === undefined || keysByHash.get(hash)?.keyId !== keyId) continue;
      keysByHash.delete(hash);
      hashByKeyId.delete(keyId);
      dropped++;
    }
    return dropped;
  }
}
