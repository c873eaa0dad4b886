// tightenBucket and capsOf: which caps an event lowers, and which events are left to the re-read.
import { describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { Bucket } from "../../data-plane/contracts.ts";
import { capsOf, tightenBucket } from "../../data-plane/snapshot/early-caps.ts";

const bucket = (): Bucket => ({
  scope: "user:u1",
  requestsPerMinute: 100,
  concurrentRequests: 4,
  budgets: [
    { period: "DAILY", capMicros: 5_000_000n },
    { period: "TOTAL", capMicros: 90_000_000n },
  ],
});

const noLimits = { requestsPerMinute: null, requestsPerSecond: null, tokensPerMinute: null, concurrentRequests: null };

function event(caps: unknown): ChangeEvent {
  return { kind: "LIMIT", action: "rateLimit.set", targetType: "User", targetId: "u1", version: "8", at: new Date(0).toISOString(), auditId: "1", caps: caps as ChangeEvent["caps"] };
}

describe("tightenBucket", () => {
  it("takes each lower cap and keeps each lower current one, in a new object", () => {
    const before = bucket();
    const after = tightenBucket(before, { limits: { requestsPerMinute: 10, concurrentRequests: 8, tokensPerMinute: 0 }, budget: null });
    expect(after).not.toBe(before);
    expect(after).toEqual({ ...bucket(), requestsPerMinute: 10, tokensPerMinute: 0 });
    expect(before).toEqual(bucket());
  });

  it("returns the bucket itself when nothing is lower", () => {
    const before = bucket();
    expect(tightenBucket(before, { limits: { requestsPerMinute: 100, concurrentRequests: 9 }, budget: { period: "DAILY", capMicros: 6_000_000n } })).toBe(before);
  });

  it("lowers or adds a budget period, keeping the periods in their canonical order", () => {
    expect(tightenBucket(bucket(), { limits: {}, budget: { period: "DAILY", capMicros: 1n } }).budgets).toEqual([
      { period: "DAILY", capMicros: 1n },
      { period: "TOTAL", capMicros: 90_000_000n },
    ]);
    expect(tightenBucket(bucket(), { limits: {}, budget: { period: "WEEKLY", capMicros: 7n } }).budgets.map((b) => b.period)).toEqual(["DAILY", "WEEKLY", "TOTAL"]);
  });
});

describe("capsOf", () => {
  it("takes well-formed caps, and leaves events without them, or with caps it cannot read, to the re-read", () => {
    expect(capsOf(event({ subject: { type: "Group", id: "g1" }, limits: { ...noLimits, requestsPerMinute: 3 } }))).not.toBeNull();
    expect(capsOf(event({ subject: { type: "User", id: "u1" }, budget: { period: "MONTHLY", capMicros: "2500000" } }))).not.toBeNull();
    expect(capsOf(event(undefined))).toBeNull();
    for (const bad of [
      { subject: { type: "ApiKey", id: "k1" }, limits: noLimits },
      { subject: { type: "User", id: "u1" }, limits: { ...noLimits, requestsPerMinute: -1 } },
      { subject: { type: "User", id: "u1" }, limits: { ...noLimits, requestsPerMinute: 1.5 } },
      { subject: { type: "User", id: "u1" }, budget: { period: "HOURLY", capMicros: "1" } },
      { subject: { type: "User", id: "u1" }, budget: { period: "DAILY", capMicros: "1e6" } },
      "caps",
    ]) {
      expect(capsOf(event(bad))).toBeNull();
    }
  });
});
