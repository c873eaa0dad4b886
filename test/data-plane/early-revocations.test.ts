// Key revocations taken early (early-revocations.ts, through early-changes.ts): which events count, what leaves a key
// map, and when a revocation is forgotten.
import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { KeyEntry, PrincipalEntry, Snapshot } from "../../data-plane/contracts.ts";
import { EarlyChanges } from "../../data-plane/snapshot/early-changes.ts";
import { revokedKeyOf } from "../../data-plane/snapshot/early-revocations.ts";
import type { Catalogue } from "../../data-plane/snapshot/route-targets.ts";
import { createSnapshotIndex, type SnapshotIndex } from "../../data-plane/snapshot/snapshot-index.ts";
import type { UsableModelsCache } from "../../data-plane/snapshot/usable-models.ts";

const principal: PrincipalEntry = {
  kind: "user",
  id: "u1",
  models: new Map(),
  bucket: { scope: "user:u1", budgets: [] },
};

function key(keyId: string): KeyEntry {
  return { keyId, prefix: `tg_pat_${keyId}`, principal, scopes: new Set(["inference"]), expiresAt: null, modelSlugs: new Set(), bucket: null };
}

/** A snapshot at `version` holding these keys, and the index by key id that goes with it. */
function served(version: number, ...ids: string[]): { snapshot: Snapshot; index: SnapshotIndex; keys: Map<string, KeyEntry>; byId: Map<string, string> } {
  const keys = new Map(ids.map((id) => [`hash-${id}`, key(id)]));
  // Key revocations use only the index's key ids.
  const index = createSnapshotIndex({} as Catalogue, {} as UsableModelsCache);
  for (const id of ids) index.hashByKeyId.set(id, `hash-${id}`);
  return { snapshot: { version: BigInt(version), builtAt: 0, keysByHash: keys, modelsBySlug: new Map() }, index, keys, byId: index.hashByKeyId };
}

function event(action: string, targetId: string, version: number, targetType = "ApiKey"): ChangeEvent {
  return { kind: "API_KEY", action, targetType, targetId, version: String(version), at: new Date(0).toISOString(), auditId: "1" };
}

function arrive(early: EarlyChanges, e: ChangeEvent, at: ReturnType<typeof served>) {
  early.arrived(e, BigInt(e.version), at.snapshot, at.index);
}

describe("early key revocations", () => {
  it("leaves a key alone when the index's hash now belongs to another key", () => {
    const early = new EarlyChanges();
    const at = served(7, "b");
    at.byId.set("a", "hash-b");
    arrive(early, event("apiKey.revoke", "a", 8), at);
    expect(at.keys.has("hash-b")).toBe(true);
  });

  it("a revoke event takes its key out of the map at once, and only that key", () => {
    const early = new EarlyChanges();
    const at = served(7, "a", "b", "c");
    expect(revokedKeyOf(event("apiKey.revoke", "b", 8))).toBe("b");
    arrive(early, event("apiKey.revoke", "b", 8), at);
    expect([...at.keys.keys()]).toEqual(["hash-a", "hash-c"]);
    expect([...at.byId.keys()]).toEqual(["a", "c"]);
  });

  it("a rotation, an update or another kind of target is not a revocation", () => {
    const early = new EarlyChanges();
    const at = served(7, "a");
    for (const e of [event("apiKey.rotate", "a", 8), event("apiKey.update", "a", 9), event("apiKey.revoke", "a", 10, "User")]) {
      expect(revokedKeyOf(e)).toBeNull();
      arrive(early, e, at);
    }
    expect(at.keys.has("hash-a")).toBe(true);
  });

  it("a snapshot read before the revocation (an older version) cannot bring the key back", () => {
    const early = new EarlyChanges();
    arrive(early, event("apiKey.revoke", "a", 8), served(7, "a"));
    const rebuiltBefore = served(7, "a", "b");
    early.reapply(rebuiltBefore.snapshot, rebuiltBefore.index);
    expect(rebuiltBefore.keys.has("hash-a")).toBe(false);
    expect(rebuiltBefore.keys.has("hash-b")).toBe(true);
  });

  it("is forgotten once a snapshot at its version or later is served, so later maps are left as they are", () => {
    const early = new EarlyChanges();
    arrive(early, event("apiKey.revoke", "a", 8), served(7, "b"));
    const current = served(8, "b");
    early.reapply(current.snapshot, current.index);
    // Were it still remembered, this map's "a" (which no real snapshot after version 8 holds) would go.
    const later = served(7, "a");
    early.reapply(later.snapshot, later.index);
    expect(later.keys.has("hash-a")).toBe(true);
  });
});
