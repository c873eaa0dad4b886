import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { effectiveLimits, LIMIT_DIMENSIONS, type LimitSource } from "../../../shared/policy/index.ts";
import { group, limitSourceArb, user } from "./fixtures.ts";

const ada = user("u1", "Ada");
const engineering = group("g1", "Engineering");

describe("effectiveLimits — examples", () => {
  it("takes the group's 60 req/min over the user's 100, naming the group as the source", () => {
    const limits = effectiveLimits([
      { subject: ada, limits: { requestsPerMinute: 100 } },
      { subject: engineering, limits: { requestsPerMinute: 60 } },
    ]);
    expect(limits).toEqual({ requestsPerMinute: { value: 60, source: engineering } });
  });

  it("ignores null and missing values: no limit in that dimension", () => {
    const limits = effectiveLimits([
      { subject: ada, limits: { requestsPerMinute: null, tokensPerMinute: 5000 } },
      { subject: engineering, limits: {} },
    ]);
    expect(limits).toEqual({ tokensPerMinute: { value: 5000, source: ada } });
  });

  it("treats 0 as a limit that allows nothing, not as no limit", () => {
    const limits = effectiveLimits([
      { subject: ada, limits: { concurrentRequests: 4 } },
      { subject: engineering, limits: { concurrentRequests: 0 } },
    ]);
    expect(limits.concurrentRequests).toEqual({ value: 0, source: engineering });
  });

  it("reports the first source on a tie", () => {
    const limits = effectiveLimits([
      { subject: ada, limits: { requestsPerMinute: 60 } },
      { subject: engineering, limits: { requestsPerMinute: 60 } },
    ]);
    expect(limits.requestsPerMinute?.source).toEqual(ada);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %s as a limit value", (bad) => {
    expect(() => effectiveLimits([{ subject: engineering, limits: { tokensPerMinute: bad } }])).toThrow(
      /tokensPerMinute limit of group "Engineering" \(g1\) must be a non-negative integer/,
    );
  });
});

const values = (limits: ReturnType<typeof effectiveLimits>) =>
  Object.fromEntries(LIMIT_DIMENSIONS.map((d) => [d, limits[d]?.value]));

describe("effectiveLimits — strictest wins", () => {
  it("is the minimum of the values set per dimension, sourced from a subject that set it", () => {
    fc.assert(
      fc.property(fc.array(limitSourceArb, { maxLength: 6 }), (sources) => {
        const limits = effectiveLimits(sources);
        for (const d of LIMIT_DIMENSIONS) {
          const set = sources.filter((s) => typeof s.limits[d] === "number");
          if (set.length === 0) {
            expect(limits[d]).toBeUndefined();
            continue;
          }
          const min = Math.min(...set.map((s) => s.limits[d] as number));
          expect(limits[d]?.value).toBe(min);
          expect(set.find((s) => s.limits[d] === min)?.subject).toEqual(limits[d]?.source);
        }
      }),
    );
  });

  it("never raises an effective limit, or removes one, when a source is added", () => {
    fc.assert(
      fc.property(fc.array(limitSourceArb, { maxLength: 6 }), limitSourceArb, (sources, extra) => {
        const before = effectiveLimits(sources);
        const after = effectiveLimits([...sources, extra]);
        for (const d of LIMIT_DIMENSIONS) {
          const b = before[d];
          if (b !== undefined) expect(after[d]!.value).toBeLessThanOrEqual(b.value);
        }
      }),
    );
  });

  it("gives the same values whatever the order of sources", () => {
    fc.assert(
      fc.property(fc.array(limitSourceArb, { maxLength: 6 }), (sources: LimitSource[]) => {
        expect(values(effectiveLimits([...sources].reverse()))).toEqual(values(effectiveLimits(sources)));
      }),
    );
  });
});
