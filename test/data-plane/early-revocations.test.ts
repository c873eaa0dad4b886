// EarlyRevocations: which events it takes, what it drops from a key map, and when it forgets a revocation.
import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { KeyEntry, PrincipalEntry } from "../../data-plane/contracts.ts";
import { EarlyRevocations } from "../../data-plane/snapshot/early-revocations.ts";

const principal: PrincipalEntry = {
  kind: "user",
  id: "u1",
  models: new Map(),
  bucket: { scope: "user:u1", budgets: [] },
};

function key(keyId: string): KeyEntry {
  return { keyId, prefix: `tg_pat_${keyId}`, principal, scopes: new Set(["inference"]), expiresAt: null, modelSlugs: new Set(), bucket: null };
}

/** A snapshot's key map and the index by key id that goes with it. */
function keyMap(...ids: string[]): { keys: Map<string, KeyEntry>; byId: Map<string, string> } {
  return { keys: new Map(ids.map((id) => [`hash-${id}`, key(id)])), byId: new Map(ids.map((id) => [id, `hash-${id}`])) };
}

function event(action: string, targetId: string, version: number, targetType = "ApiKey"): ChangeEvent {
  return { kind: "API_KEY", action, targetType, targetId, version: String(version), at: new Date(0).toISOString(), auditId: "1" };
}

describe("EarlyRevocations", () => {
  it("leaves a key alone when the index's hash now belongs to another key", () => {
    const revocations = new EarlyRevocations();
    const { keys, byId } = keyMap("b");
    byId.set("a", "hash-b");
    revocations.note(event("apiKey.revoke", "a", 8), 8n);
    expect(revocations.applyTo(keys, byId, 7n)).toBe(0);
    expect(keys.has("hash-b")).toBe(true);
  });

  it("a revoke event takes its key out of the map at once, and only that key", () => {
    const revocations = new EarlyRevocations();
    const { keys, byId } = keyMap("a", "b", "c");
    expect(revocations.note(event("apiKey.revoke", "b", 8), 8n)).toBe(true);
    expect(revocations.applyTo(keys, byId, 7n)).toBe(1);
    expect([...keys.keys()]).toEqual(["hash-a", "hash-c"]);
    expect([...byId.keys()]).toEqual(["a", "c"]);
  });

  it("a rotation, an update or another kind of target is not a revocation", () => {
    const revocations = new EarlyRevocations();
    const { keys, byId } = keyMap("a");
    expect(revocations.note(event("apiKey.rotate", "a", 8), 8n)).toBe(false);
    expect(revocations.note(event("apiKey.update", "a", 9), 9n)).toBe(false);
    expect(revocations.note(event("apiKey.revoke", "a", 10, "User"), 10n)).toBe(false);
    expect(revocations.applyTo(keys, byId, 7n)).toBe(0);
    expect(keys.has("hash-a")).toBe(true);
  });

  it("a snapshot read before the revocation (an older version) cannot bring the key back", () => {
    const revocations = new EarlyRevocations();
    revocations.note(event("apiKey.revoke", "a", 8), 8n);
    const served = keyMap("a");
    revocations.applyTo(served.keys, served.byId, 7n);
    const rebuiltBefore = keyMap("a", "b");
    expect(revocations.applyTo(rebuiltBefore.keys, rebuiltBefore.byId, 7n)).toBe(1);
    expect(rebuiltBefore.keys.has("hash-a")).toBe(false);
    expect(rebuiltBefore.keys.has("hash-b")).toBe(true);
  });

  it("is forgotten once a snapshot at its version or later is served, so later maps are left as they are", () => {
    const revocations = new EarlyRevocations();
    revocations.note(event("apiKey.revoke", "a", 8), 8n);
    const current = keyMap("b");
    expect(revocations.applyTo(current.keys, current.byId, 8n)).toBe(0);
    // Were it still remembered, this map's "a" (which no real snapshot after version 8 holds) would go.
    const later = keyMap("a");
    expect(revocations.applyTo(later.keys, later.byId, 7n)).toBe(0);
    expect(later.keys.has("hash-a")).toBe(true);
  });
});
