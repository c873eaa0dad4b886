import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usdToMicros } from "../../../shared/money.ts";
import {
  admitsSpend,
  budgetWindow,
  BUDGET_PERIODS,
  effectiveBudgets,
  type BudgetPeriod,
} from "../../../shared/policy/index.ts";
import { budgetSourceArb, group, user } from "./fixtures.ts";

const ada = user("u1", "Ada");
const engineering = group("g1", "Engineering");
const interns = group("g2", "Interns");
const usd = usdToMicros;

describe("effectiveBudgets — examples", () => {
  it("takes Interns' $20/day over Engineering's $50/day, naming Interns as the source", () => {
    const budgets = effectiveBudgets([
      { subject: engineering, period: "DAILY", capMicros: usd("50") },
      { subject: interns, period: "DAILY", capMicros: usd("20") },
    ]);
    expect(budgets).toEqual({ DAILY: { period: "DAILY", capMicros: usd("20"), source: interns } });
  });

  it("keeps periods apart: a monthly cap does not tighten the daily one", () => {
    const budgets = effectiveBudgets([
      { subject: ada, period: "DAILY", capMicros: usd("50") },
      { subject: engineering, period: "MONTHLY", capMicros: usd("10") },
    ]);
    expect(budgets.DAILY?.capMicros).toBe(usd("50"));
    expect(budgets.MONTHLY?.capMicros).toBe(usd("10"));
    expect(budgets.WEEKLY).toBeUndefined();
  });

  it("rejects a negative cap", () => {
    expect(() => effectiveBudgets([{ subject: ada, period: "TOTAL", capMicros: -1n }])).toThrow(RangeError);
  });
});

describe("effectiveBudgets — strictest wins per period", () => {
  it("is the minimum cap per period, sourced from a subject that set it", () => {
    fc.assert(
      fc.property(fc.array(budgetSourceArb, { maxLength: 8 }), (sources) => {
        const budgets = effectiveBudgets(sources);
        for (const period of BUDGET_PERIODS) {
          const set = sources.filter((s) => s.period === period);
          if (set.length === 0) {
            expect(budgets[period]).toBeUndefined();
            continue;
          }
          const min = set.reduce((m, s) => (s.capMicros < m ? s.capMicros : m), set[0]!.capMicros);
          expect(budgets[period]?.capMicros).toBe(min);
          expect(set.find((s) => s.capMicros === min)?.subject).toEqual(budgets[period]?.source);
        }
      }),
    );
  });

  it("never raises a cap, or removes one, when a source is added, and does not depend on order", () => {
    fc.assert(
      fc.property(fc.array(budgetSourceArb, { maxLength: 8 }), budgetSourceArb, (sources, extra) => {
        const before = effectiveBudgets(sources);
        const after = effectiveBudgets([...sources, extra]);
        const reversed = effectiveBudgets([...sources].reverse());
        for (const period of BUDGET_PERIODS) {
          const b = before[period];
          if (b !== undefined) expect(after[period]!.capMicros <= b.capMicros).toBe(true);
          expect(reversed[period]?.capMicros).toBe(b?.capMicros);
        }
      }),
    );
  });
});

describe("budgetWindow", () => {
  const at = (iso: string) => new Date(iso);

  it("uses the UTC day for DAILY", () => {
    expect(budgetWindow("DAILY", at("2025-03-09T23:59:59.999Z"))).toEqual({
      start: at("2025-03-09T00:00:00.000Z"),
      end: at("2025-03-10T00:00:00.000Z"),
    });
  });

  it("uses the ISO week starting Monday 00:00 UTC for WEEKLY, Sunday belonging to the week before", () => {
    // 2025-03-09 is a Sunday.
    expect(budgetWindow("WEEKLY", at("2025-03-09T12:00:00Z"))).toEqual({
      start: at("2025-03-03T00:00:00Z"),
      end: at("2025-03-10T00:00:00Z"),
    });
    expect(budgetWindow("WEEKLY", at("2025-03-10T00:00:00Z")).start).toEqual(at("2025-03-10T00:00:00Z"));
  });

  it("uses the calendar month for MONTHLY, across a year end and a leap February", () => {
    expect(budgetWindow("MONTHLY", at("2024-12-31T23:00:00Z"))).toEqual({
      start: at("2024-12-01T00:00:00Z"),
      end: at("2025-01-01T00:00:00Z"),
    });
    expect(budgetWindow("MONTHLY", at("2024-02-15T00:00:00Z")).end).toEqual(at("2024-03-01T00:00:00Z"));
  });

  it("runs from the epoch with no end for TOTAL", () => {
    expect(budgetWindow("TOTAL", at("2025-01-01T00:00:00Z"))).toEqual({ start: new Date(0), end: null });
  });

  it("rejects an invalid date", () => {
    expect(() => budgetWindow("DAILY", new Date(Number.NaN))).toThrow(RangeError);
  });

  it("contains now and is aligned to UTC calendar boundaries", () => {
    const dateArb = fc.date({ min: at("1970-01-01T00:00:00Z"), max: at("2200-12-31T23:59:59Z"), noInvalidDate: true });
    fc.assert(
      fc.property(dateArb, fc.constantFrom<BudgetPeriod>("DAILY", "WEEKLY", "MONTHLY"), (now, period) => {
        const { start, end } = budgetWindow(period, now);
        expect(end).not.toBeNull();
        expect(start.getTime()).toBeLessThanOrEqual(now.getTime());
        expect(now.getTime()).toBeLessThan(end!.getTime());
        for (const edge of [start, end!]) {
          expect([edge.getUTCHours(), edge.getUTCMinutes(), edge.getUTCSeconds(), edge.getUTCMilliseconds()]).toEqual([0, 0, 0, 0]);
        }
        const days = (end!.getTime() - start.getTime()) / 86_400_000;
        if (period === "DAILY") expect(days).toBe(1);
        if (period === "WEEKLY") {
          expect(days).toBe(7);
          expect(start.getUTCDay()).toBe(1);
        }
        if (period === "MONTHLY") {
          expect([start.getUTCDate(), end!.getUTCDate()]).toEqual([1, 1]);
          expect((end!.getUTCFullYear() * 12 + end!.getUTCMonth()) - (start.getUTCFullYear() * 12 + start.getUTCMonth())).toBe(1);
        }
      }),
    );
  });
});

describe("admitsSpend", () => {
  const budgets = effectiveBudgets([
    { subject: interns, period: "DAILY", capMicros: usd("20") },
    { subject: ada, period: "MONTHLY", capMicros: usd("100") },
  ]);

  it("admits a spend that fits every period, up to and including the cap", () => {
    expect(admitsSpend(budgets, { DAILY: usd("19"), MONTHLY: usd("50") }, usd("1"))).toEqual({ ok: true });
  });

  it("refuses when one period lacks room, naming it with its cap and spend", () => {
    expect(admitsSpend(budgets, { DAILY: usd("5"), MONTHLY: usd("99.5") }, usd("1"))).toEqual({
      ok: false,
      period: "MONTHLY",
      capMicros: usd("100"),
      spentMicros: usd("99.5"),
    });
  });

  it("counts a missing spend as zero and ignores periods without a budget", () => {
    expect(admitsSpend(budgets, { WEEKLY: usd("1000") }, usd("20"))).toEqual({ ok: true });
    expect(admitsSpend(budgets, {}, usd("20.000001"))).toMatchObject({ ok: false, period: "DAILY", spentMicros: 0n });
  });

  it("admits anything when there are no budgets", () => {
    expect(admitsSpend({}, { TOTAL: 10n ** 18n }, 10n ** 18n)).toEqual({ ok: true });
  });

  it("admits exactly when spent + additional <= cap in every budgeted period", () => {
    const spendArb = fc.record(
      { DAILY: fc.bigInt(0n, 200n), WEEKLY: fc.bigInt(0n, 200n), MONTHLY: fc.bigInt(0n, 200n), TOTAL: fc.bigInt(0n, 200n) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(budgetSourceArb.map((s) => ({ ...s, capMicros: s.capMicros % 300n }))), spendArb, fc.bigInt(0n, 100n), (sources, spent, extra) => {
        const effective = effectiveBudgets(sources);
        const fits = BUDGET_PERIODS.every((p) => !effective[p] || (spent[p] ?? 0n) + extra <= effective[p]!.capMicros);
        expect(admitsSpend(effective, spent, extra).ok).toBe(fits);
      }),
    );
  });
});
