// What a subject has spent in the current UTC budget window, against the cap that binds it there.
import { type BudgetPeriod, type BudgetSource, budgetWindow, effectiveBudgets } from "../../shared/policy/index.ts";
import { BudgetPeriodEnum } from "../budgets/budget-type.ts";
import { builder } from "../builder.ts";
import type { Db } from "../db/client.ts";
import { sumCostMicros } from "./usage-aggregate.ts";

export type SpendSubject = { userId: string } | { groupId: string } | { virtualAccountId: string } | { apiKeyId: string };

export interface SpendSummaryShape {
  period: BudgetPeriod;
  windowStart: Date;
  windowEnd: Date | null;
  spentMicros: bigint;
  capMicros: bigint | null;
}

export const SpendSummaryRef = builder.objectRef<SpendSummaryShape>("SpendSummary").implement({
  description:
    "Spend in the current UTC calendar window of a budget period. For a group, the sum over its current members: " +
    "budgets are enforced per member, so this total is informational.",
  fields: (t) => ({
    period: t.field({ type: BudgetPeriodEnum, resolve: (s) => s.period }),
    windowStart: t.expose("windowStart", { type: "DateTime" }),
    windowEnd: t.expose("windowEnd", { type: "DateTime", nullable: true, description: "Exclusive; null for TOTAL." }),
    spent: t.expose("spentMicros", { type: "Usd" }),
    cap: t.expose("capMicros", {
      type: "Usd",
      nullable: true,
      description:
        "The cap for this period: for a user or virtual account the effective one (strictest of its own and its groups'); " +
        "for a group or key its own. Null when there is none.",
    }),
    remaining: t.field({
      type: "Usd",
      nullable: true,
      description: "cap − spent, never below zero; null when there is no cap.",
      resolve: (s) => (s.capMicros === null ? null : s.capMicros > s.spentMicros ? s.capMicros - s.spentMicros : 0n),
    }),
  }),
});

/** Null when the subject does not exist. Two queries, run together: the caps and the sum. */
export async function spendSummary(db: Db, subject: SpendSubject, period: BudgetPeriod, now = new Date()): Promise<SpendSummaryShape | null> {
  const window = budgetWindow(period, now);
  const [sources, spent] = await Promise.all([budgetSources(db, subject, period), sumCostMicros(db, { ...subject, from: window.start, to: window.end })]);
  if (sources === null) return null;
  return {
    period,
    windowStart: window.start,
    windowEnd: window.end,
    spentMicros: spent,
    capMicros: effectiveBudgets(sources)[period]?.capMicros ?? null,
  };
}

/** The budgets of the period that bind the subject (a user's own first, then its groups'); null if it does not exist. */
async function budgetSources(db: Db, subject: SpendSubject, period: BudgetPeriod): Promise<BudgetSource[] | null> {
  const caps: Caps = { where: { period }, select: { capMicros: true } };
  if ("userId" in subject) {
    const user = await db.user.findUnique({
      where: { id: subject.userId },
      select: { id: true, email: true, budgets: caps, memberships: { select: { group: { select: { id: true, name: true, budgets: caps } } } } },
    });
    if (!user) return null;
    return [
      ...user.budgets.map((b) => ({ subject: { kind: "user" as const, id: user.id, name: user.email }, period, capMicros: b.capMicros })),
      ...user.memberships.flatMap(({ group }) =>
        group.budgets.map((b) => ({ subject: { kind: "group" as const, id: group.id, name: group.name }, period, capMicros: b.capMicros })),
      ),
    ];
  }
  const owner = await ownBudgets(db, subject, caps);
  return owner && owner.budgets.map((b) => ({ subject: owner.subject, period, capMicros: b.capMicros }));
}

type Caps = { where: { period: BudgetPeriod }; select: { capMicros: true } };

async function ownBudgets(db: Db, subject: Exclude<SpendSubject, { userId: string }>, caps: Caps) {
  const select = { id: true, name: true, budgets: caps };
  if ("groupId" in subject) {
    const group = await db.group.findUnique({ where: { id: subject.groupId }, select });
    return group && { subject: { kind: "group" as const, id: group.id, name: group.name }, budgets: group.budgets };
  }
  if ("virtualAccountId" in subject) {
    const account = await db.virtualAccount.findUnique({ where: { id: subject.virtualAccountId }, select });
    return account && { subject: { kind: "virtualAccount" as const, id: account.id, name: account.name }, budgets: account.budgets };
  }
  const key = await db.apiKey.findUnique({ where: { id: subject.apiKeyId }, select });
  return key && { subject: { kind: "apiKey" as const, id: key.id, name: key.name }, budgets: key.budgets };
}
