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

function keyMap(...ids: string[]): Map<string, KeyEntry> {
  return new Map(ids.map((id) => [`hash-${id}`, key(id)]));
}

function event(action: string, targetId: string, version: number, targetType = "ApiKey"): ChangeEvent {
  return { kind: "API_KEY", action, targetType, targetId, version: String(version), at: new Date(0).toISOString(), auditId: "1" };
}

describe("EarlyRevocations", () => {
  it("a revoke event takes its key out of the map at once, and only that key", () => {
    const revocations = new EarlyRevocations();
    const keys = keyMap("a", "b", "c");
    expect(revocations.note(event("apiKey.revoke", "b", 8), 8n)).toBe(true);
    expect(revocations.applyTo(keys, 7n)).toBe(1);
    expect([...keys.keys()]).toEqual(["hash-a", "hash-c"]);
  });

  it("a rotation, an update or another kind of target is not a revocation", () => {
    const revocations = new EarlyRevocations();
    const keys = keyMap("a");
    expect(revocations.note(event("apiKey.rotate", "a", 8), 8n)).toBe(false);
    expect(revocations.note(event("apiKey.update", "a", 9), 9n)).toBe(false);
    expect(revocations.note(event("apiKey.revoke", "a", 10, "User"), 10n)).toBe(false);
    expect(revocations.applyTo(keys, 7n)).toBe(0);
    expect(keys.has("hash-a")).toBe(true);
  });

  it("a snapshot read before the revocation (an older version) cannot bring the key back", () => {
    const revocations = new EarlyRevocations();
    revocations.note(event("apiKey.revoke", "a", 8), 8n);
    revocations.applyTo(keyMap("a"), 7n);
    const rebuiltBefore = keyMap("a", "b");
    expect(revocations.applyTo(rebuiltBefore, 7n)).toBe(1);
    expect(rebuiltBefore.has("hash-a")).toBe(false);
  });

  it("is forgotten once a snapshot at its version or later is served, so later maps are left as they are", () => {
    const revocations = new EarlyRevocations();
    revocations.note(event("apiKey.revoke", "a", 8), 8n);
    expect(revocations.applyTo(keyMap("b"), 8n)).toBe(0);
    // Were it still remembered, this map's "a" (which no real snapshot after version 8 holds) would go.
    const later = keyMap("a");
    expect(revocations.applyTo(later, 7n)).toBe(0);
    expect(later.has("hash-a")).toBe(true);
  });
});
