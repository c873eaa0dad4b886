// Setting and clearing a budget of a user, group or virtual account (one row per subject and period).
import { z } from "zod";
import { microsToUsd } from "../../shared/money.ts";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ClearResultRef } from "../limits/clear-result.ts";
import { changeSubject, requireSubject, SubjectInput, type SubjectRef, subjectSchema, subjectType } from "../subjects/subject.ts";
import { parseInput } from "../validation.ts";
import { BudgetPeriodEnum, budgetPeriods } from "./budget-type.ts";

type BudgetPeriod = (typeof budgetPeriods)[number];

const SetBudgetInput = builder.inputType("SetBudgetInput", {
  fields: (t) => ({
    subject: t.field({ type: SubjectInput, required: true }),
    period: t.field({ type: BudgetPeriodEnum, required: true }),
    cap: t.field({ type: "Usd", required: true, description: 'Decimal USD, e.g. "20.00"; 0 blocks all spending.' }),
  }),
});

const ClearBudgetInput = builder.inputType("ClearBudgetInput", {
  fields: (t) => ({
    subject: t.field({ type: SubjectInput, required: true }),
    period: t.field({ type: BudgetPeriodEnum, required: true }),
  }),
});

// A trillion dollars is far beyond any real cap and far inside the BigInt column.
const MAX_CAP_MICROS = 1_000_000_000_000n * 1_000_000n;
const period = z.enum(budgetPeriods);
const setSchema = z.object({
  subject: subjectSchema,
  period,
  cap: z.bigint().min(0n, "cap must not be negative").max(MAX_CAP_MICROS, "cap must be at most 1000000000000.00"),
});
const clearSchema = z.object({ subject: subjectSchema, period });

builder.mutationFields((t) => ({
  setBudget: t.prismaField({
    type: "Budget",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Creates or changes the subject's budget for the period. Returns the budget as it is now.",
    args: { input: t.arg({ type: SetBudgetInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { subject, period, cap } = parseInput(setSchema, args.input);
      return commitChange(ctx, {
        kind: "BUDGET",
        action: "budget.set",
        // A subject has at most one budget per period, so the audit trail hangs off the subject itself.
        targetType: subjectType(subject),
        run: async (tx) => {
          const label = await requireSubject(tx, subject);
          const where = budgetKey(subject, period);
          const before = await tx.budget.findUnique({ where, select: { capMicros: true } });
          const budget = await tx.budget.upsert({
            ...query,
            where,
            create: { ...subject, period, capMicros: cap },
            update: { capMicros: cap },
          });
          return {
            result: budget,
            targetId: label.id,
            before: before && { period, cap: microsToUsd(before.capMicros) },
            after: { period, cap: microsToUsd(cap), subject: label },
            detail: { caps: { subject: changeSubject(label), budget: { period, capMicros: cap.toString() } } },
          };
        },
      });
    },
  }),

  clearBudget: t.field({
    type: ClearResultRef,
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Removes the subject's budget for the period: no cap of its own there any more (group budgets still apply to members).",
    args: { input: t.arg({ type: ClearBudgetInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const { subject, period } = parseInput(clearSchema, args.input);
      return commitChange(ctx, {
        kind: "BUDGET",
        action: "budget.clear",
        targetType: subjectType(subject),
        run: async (tx) => {
          const label = await requireSubject(tx, subject);
          const before = await tx.budget.findUnique({ where: budgetKey(subject, period), select: { id: true, capMicros: true } });
          if (before) await tx.budget.delete({ where: { id: before.id }, select: { id: true } });
          return {
            result: { cleared: before !== null },
            targetId: label.id,
            before: before && { period, cap: microsToUsd(before.capMicros) },
            after: { period, subject: label },
          };
        },
      });
    },
  }),
}));

function budgetKey(subject: SubjectRef, period: BudgetPeriod): Prisma.BudgetWhereUniqueInput {
  if (subject.userId) return { userId_period: { userId: subject.userId, period } };
  if (subject.groupId) return { groupId_period: { groupId: subject.groupId, period } };
  return { virtualAccountId_period: { virtualAccountId: subject.virtualAccountId!, period } };
}
