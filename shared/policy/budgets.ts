// Budgets, strictest wins per period (policy rule 5): effective caps, their UTC calendar windows, and admission.
import { describeSubject } from "./subjects.ts";
import { BUDGET_PERIODS, type BudgetPeriod, type BudgetSource, type EffectiveBudgets } from "./types.ts";

/**
 * The lowest cap per period and the subject it comes from (ties: the earlier source).
 * Throws RangeError on a negative cap: such a row is a bug upstream, not "no budget".
 */
export function effectiveBudgets(sources: readonly BudgetSource[]): EffectiveBudgets {
  const result: EffectiveBudgets = {};
  for (const source of sources) {
    if (source.capMicros < 0n) {
      throw new RangeError(
        `${source.period} budget of ${describeSubject(source.subject)} must not be negative, got ${source.capMicros} micro-dollars`,
      );
    }
    const current = result[source.period];
    if (current === undefined || source.capMicros < current.capMicros) {
      result[source.period] = { period: source.period, capMicros: source.capMicros, source: source.subject };
    }
  }
  return result;
}

/** The effective budgets turned back into sources, so they can be tightened further by the same rule. */
export function budgetSourcesOf(budgets: EffectiveBudgets): BudgetSource[] {
  return BUDGET_PERIODS.flatMap((period) => {
    const budget = budgets[period];
    return budget ? [{ subject: budget.source, period, capMicros: budget.capMicros }] : [];
  });
}

const DAY_MS = 86_400_000;

/**
 * The calendar window in UTC that contains `now`: `start` inclusive, `end` exclusive (null = never ends).
 * Weeks are ISO weeks, starting Monday 00:00 UTC.
 */
export function budgetWindow(period: BudgetPeriod, now: Date): { start: Date; end: Date | null } {
  const time = now.getTime();
  if (Number.isNaN(time)) throw new RangeError("budgetWindow needs a valid date");
  const dayStart = Math.floor(time / DAY_MS) * DAY_MS;
  switch (period) {
    case "DAILY":
      return { start: new Date(dayStart), end: new Date(dayStart + DAY_MS) };
    case "WEEKLY": {
      // getUTCDay is 0 for Sunday; shift so Monday is 0.
      const daysSinceMonday = (now.getUTCDay() + 6) % 7;
      const start = dayStart - daysSinceMonday * DAY_MS;
      return { start: new Date(start), end: new Date(start + 7 * DAY_MS) };
    }
    case "MONTHLY": {
      const year = now.getUTCFullYear();
      const month = now.getUTCMonth();
      // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not, so build from a fixed date.
      return { start: utcMonthStart(year, month), end: utcMonthStart(year, month + 1) };
    }
    case "TOTAL":
      return { start: new Date(0), end: null };
  }
}

function utcMonthStart(year: number, month: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, month, 1);
  return date;
}

export type SpendAdmission =
  | { ok: true }
  | { ok: false; period: BudgetPeriod; capMicros: bigint; spentMicros: bigint };

/**
 * Admitted only if every period with a budget has room: spent + additional <= cap.
 * A missing spend counts as nothing spent. The first period (DAILY → TOTAL) without room is reported.
 */
export function admitsSpend(
  budgets: EffectiveBudgets,
  spentByPeriod: Partial<Record<BudgetPeriod, bigint>>,
  additionalMicros: bigint,
): SpendAdmission {
  for (const period of BUDGET_PERIODS) {
    const budget = budgets[period];
    if (!budget) continue;
    const spentMicros = spentByPeriod[period] ?? 0n;
    if (spentMicros + additionalMicros > budget.capMicros) {
      return { ok: false, period, capMicros: budget.capMicros, spentMicros };
    }
  }
  return { ok: true };
}
