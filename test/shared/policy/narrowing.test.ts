import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usdToMicros } from "../../../shared/money.ts";
import {
  BUDGET_PERIODS,
  effectivePolicy,
  LIMIT_DIMENSIONS,
  narrowForKey,
  type KeyNarrowing,
} from "../../../shared/policy/index.ts";
import {
  accessInputArb,
  apiKey,
  budgetSourceArb,
  emptyInput,
  group,
  limitSourceArb,
  model,
  provider,
  route,
  user,
} from "./fixtures.ts";

const ada = user("u1", "Ada");
const interns = group("g2", "Interns");
const key = apiKey("k1", "ci-key");
const usd = usdToMicros;

describe("narrowForKey — example", () => {
  // Ada (via Interns) may use gpt-4o and claude-sonnet at 60 req/min and $20/day.
  const owner = effectivePolicy(
    emptyInput(ada, {
      groups: [interns],
      models: [model("gpt", [route("r1", "openai")], "gpt-4o"), model("claude", [route("r2", "openai")], "claude-sonnet")],
      providers: [provider("openai")],
      grants: [
        { modelId: "gpt", subject: interns },
        { modelId: "claude", subject: interns },
      ],
      limits: [
        { subject: ada, limits: { requestsPerMinute: 100 } },
        { subject: interns, limits: { requestsPerMinute: 60, tokensPerMinute: 10_000 } },
      ],
      budgets: [{ subject: interns, period: "DAILY", capMicros: usd("20") }],
    }),
  );

  it("keeps only the key's models the owner can use, and the strictest of each limit and budget", () => {
    const narrowed = narrowForKey(owner, {
      keySubject: key,
      modelSlugs: ["gpt-4o", "o3-pro"],
      limits: { requestsPerMinute: 10, tokensPerMinute: 50_000 },
      budgets: [
        { period: "DAILY", capMicros: usd("5") },
        { period: "MONTHLY", capMicros: usd("30") },
      ],
    });
    expect(narrowed.principal).toEqual(ada);
    expect(narrowed.models.map((m) => m.model.slug)).toEqual(["gpt-4o"]);
    expect(narrowed.limits).toEqual({
      requestsPerMinute: { value: 10, source: key },
      tokensPerMinute: { value: 10_000, source: interns },
    });
    expect(narrowed.budgets).toEqual({
      DAILY: { period: "DAILY", capMicros: usd("5"), source: key },
      MONTHLY: { period: "MONTHLY", capMicros: usd("30"), source: key },
    });
  });

  it("leaves the owner's policy as is when the key narrows nothing", () => {
    expect(narrowForKey(owner, { keySubject: key, modelSlugs: [] })).toEqual(owner);
  });

  it("keeps the owner as source when the key's limit only ties", () => {
    const narrowed = narrowForKey(owner, { keySubject: key, modelSlugs: [], limits: { requestsPerMinute: 60 } });
    expect(narrowed.limits.requestsPerMinute).toEqual({ value: 60, source: interns });
  });
});

const keyArb: fc.Arbitrary<KeyNarrowing> = fc.record({
  keySubject: fc.constant(key),
  modelSlugs: fc.subarray(["slug-m1", "slug-m2", "slug-m3", "slug-m4", "slug-unknown"]),
  limits: limitSourceArb.map((s) => s.limits),
  budgets: fc.array(budgetSourceArb.map(({ period, capMicros }) => ({ period, capMicros })), { maxLength: 4 }),
});

const ownerArb = fc
  .tuple(accessInputArb, fc.array(limitSourceArb, { maxLength: 4 }), fc.array(budgetSourceArb, { maxLength: 6 }))
  .map(([input, limits, budgets]) => effectivePolicy({ ...input, limits, budgets }));

describe("narrowForKey — never widens", () => {
  it("narrows models to a subset of the owner's, and limits and budgets to at most both the owner's and the key's", () => {
    fc.assert(
      fc.property(ownerArb, keyArb, (owner, k) => {
        const narrowed = narrowForKey(owner, k);

        const ownerSlugs = new Set(owner.models.map((m) => m.model.slug));
        for (const m of narrowed.models) {
          expect(ownerSlugs).toContain(m.model.slug);
          if (k.modelSlugs.length > 0) expect(k.modelSlugs).toContain(m.model.slug);
          // Access to a model is kept whole, routes included: narrowing picks models, not routes.
          expect(m).toEqual(owner.models.find((o) => o.model.slug === m.model.slug));
        }

        for (const d of LIMIT_DIMENSIONS) {
          const keyValue = k.limits?.[d];
          const bounds = [owner.limits[d]?.value, keyValue ?? undefined].filter((v) => v !== undefined);
          expect(narrowed.limits[d]?.value).toBe(bounds.length ? Math.min(...bounds) : undefined);
        }

        for (const p of BUDGET_PERIODS) {
          const caps = [owner.budgets[p]?.capMicros, ...(k.budgets ?? []).filter((b) => b.period === p).map((b) => b.capMicros)];
          const defined = caps.filter((c): c is bigint => c !== undefined);
          const min = defined.length ? defined.reduce((a, b) => (b < a ? b : a)) : undefined;
          expect(narrowed.budgets[p]?.capMicros).toBe(min);
        }
      }),
    );
  });

  it("names the key as source exactly where the key's value is strictly tighter than the owner's", () => {
    fc.assert(
      fc.property(ownerArb, keyArb, (owner, k) => {
        const narrowed = narrowForKey(owner, k);
        for (const d of LIMIT_DIMENSIONS) {
          const effective = narrowed.limits[d];
          if (!effective) continue;
          const ownerValue = owner.limits[d]?.value;
          const keyWins = ownerValue === undefined || effective.value < ownerValue;
          expect(effective.source).toEqual(keyWins ? key : owner.limits[d]!.source);
        }
      }),
    );
  });
});
