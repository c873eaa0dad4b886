// The changes a data plane enforces from their events alone, before the re-read that applies every event in version
// order: key revocations, disabled users and virtual accounts, lowered limits and budgets, revoked grants and removed
// provider access. Each only narrows what is allowed, and each is applied again after every swap until a snapshot
// covers it, so a snapshot read before the change cannot undo it.
import type { ChangeEvent, ChangeSubject } from "../../control-plane/events/change-event.ts";
import type { Snapshot } from "../contracts.ts";
import { capsOf, type Tightening, tightenPrincipals } from "./early-caps.ts";
import { disabledOwnerOf, disableOwner, revokedKeyOf, revokeKey } from "./early-revocations.ts";
import { type Withdrawal, withdraw, withdrawalOf } from "./early-withdrawals.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

/** What an event lets a data plane enforce before its re-read, if anything. */
type Early =
  | { type: "key"; keyId: string }
  | { type: "disable"; owner: string }
  | { type: "caps"; subject: ChangeSubject; tightening: Tightening }
  | { type: "withdrawal"; withdrawal: Withdrawal };

/** Changes that never touch grants, provider access, memberships or the catalogue (keys, limits, budgets). */
const GRANT_NEUTRAL_KINDS: ReadonlySet<string> = new Set(["API_KEY", "LIMIT", "BUDGET"]);

const byVersion = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

function earlyOf(event: ChangeEvent): Early | null {
  const keyId = revokedKeyOf(event);
  if (keyId !== null) return { type: "key", keyId };
  const owner = disabledOwnerOf(event);
  if (owner !== null) return { type: "disable", owner };
  const caps = capsOf(event);
  if (caps !== null) return { type: "caps", ...caps };
  const withdrawal = withdrawalOf(event);
  return withdrawal === null ? null : { type: "withdrawal", withdrawal };
}

export class EarlyChanges {
  /**
   * Every event received beyond the snapshot, by version: its kind, and what it lets us enforce early. Kept apart from
   * the sync's queue, which a failed read empties, so that it still holds during a database outage, when acting early
   * matters most; forgotten once a snapshot covers the version.
   */
  private readonly events = new Map<bigint, { kind: string; early: Early | null }>();

  /** Notes `event` and, when it is one of these changes and a snapshot is built, applies it to `snapshot` now. */
  arrived(event: ChangeEvent, version: bigint, snapshot: Snapshot, index: SnapshotIndex | null): void {
    const early = earlyOf(event);
    this.events.set(version, { kind: event.kind, early });
    if (early && index) this.walk(snapshot, index, version);
  }

  /** Applies what `snapshot` does not cover yet to it (just before it is served), and forgets what it covers. */
  reapply(snapshot: Snapshot, index: SnapshotIndex): void {
    this.walk(snapshot, index, null);
  }

  /**
   * Goes through the events beyond the snapshot in version order, applying the one at `only` (or all). A withdrawal
   * is exact only while the index's grant lists are the database's just before it: every event between the snapshot
   * and it present, and each of a kind that cannot change grants, access or groups, or an exact withdrawal itself.
   */
  private walk(snapshot: Snapshot, index: SnapshotIndex, only: bigint | null): void {
    let expected = snapshot.version + 1n;
    let exact = true;
    for (const version of [...this.events.keys()].sort(byVersion)) {
      const { kind, early } = this.events.get(version)!;
      if (version <= snapshot.version) {
        this.events.delete(version);
        continue;
      }
      if (version !== expected) exact = false;
      expected = version + 1n;
      const withdrawal = early?.type === "withdrawal";
      if (early && (only === null || only === version) && (!withdrawal || exact)) apply(early, snapshot, index);
      if (!GRANT_NEUTRAL_KINDS.has(kind) && !(withdrawal && exact)) exact = false;
    }
  }
}

function apply(early: Early, snapshot: Snapshot, index: SnapshotIndex): void {
  if (early.type === "key") revokeKey(snapshot.keysByHash, index, early.keyId);
  else if (early.type === "disable") disableOwner(snapshot.keysByHash, index, early.owner);
  else if (early.type === "caps") tightenPrincipals(index, early.subject, early.tightening);
  else withdraw(index, early.withdrawal);
}
