// The changes a data plane enforces from their events alone, before the re-read that applies every event in version
// order: key revocations, disabled users and virtual accounts, lowered limits and budgets, revoked grants and removed
// provider access. Each only narrows what is allowed, and each is applied again after every swap until a snapshot
// covers it, so a snapshot read before the change cannot undo it.
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { Snapshot } from "../contracts.ts";
import { EarlyCaps } from "./early-caps.ts";
import { EarlyDisables } from "./early-disables.ts";
import { EarlyRevocations } from "./early-revocations.ts";
import { EarlyWithdrawals } from "./early-withdrawals.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

export class EarlyChanges {
  private readonly keys = new EarlyRevocations();
  private readonly disables = new EarlyDisables();
  private readonly caps = new EarlyCaps();
  private readonly withdrawals = new EarlyWithdrawals();

  /**
   * The kind of every event received beyond the snapshot, by version: a withdrawal is exact only behind kinds that
   * cannot change grants, access or groups. Kept apart from the sync's queue, which a failed read empties, so that it
   * still holds during a database outage, when acting early matters most.
   */
  private readonly kinds = new Map<bigint, string>();

  /** Notes `event` and, when it is one of these changes and a snapshot is built, applies it to `snapshot` now. */
  arrived(event: ChangeEvent, version: bigint, snapshot: Snapshot, index: SnapshotIndex | null): void {
    this.kinds.set(version, event.kind);
    const key = this.keys.note(event, version);
    const disable = this.disables.note(event, version);
    const caps = this.caps.note(event, version);
    const withdrawal = this.withdrawals.note(event, version);
    if (!index) return;
    if (key) this.keys.applyTo(snapshot.keysByHash, index.hashByKeyId, snapshot.version);
    if (disable) this.disables.applyTo(snapshot.keysByHash, index, snapshot.version);
    if (caps) this.caps.applyTo(index, snapshot.version);
    if (withdrawal) this.withdrawals.applyTo(index, snapshot.version, this.kinds);
  }

  /** Applies what `snapshot` does not cover yet to it (just before it is served), and forgets what it covers. */
  reapply(snapshot: Snapshot, index: SnapshotIndex): void {
    for (const version of this.kinds.keys()) if (version <= snapshot.version) this.kinds.delete(version);
    this.keys.applyTo(snapshot.keysByHash, index.hashByKeyId, snapshot.version);
    this.disables.applyTo(snapshot.keysByHash, index, snapshot.version);
    this.caps.applyTo(index, snapshot.version);
    this.withdrawals.applyTo(index, snapshot.version, this.kinds);
  }
}
