// `spend`: what a user, group, virtual account or key has spent in the current UTC window of a budget period.
import { z } from "zod";
import { BudgetPeriodEnum } from "../budgets/budget-type.ts";
import { builder } from "../builder.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { parseInput } from "../validation.ts";
import { describeSpendSubject, SpendSubjectInput, spendScopes, spendSubjectSchema } from "./spend-subject.ts";
import { SpendSummaryRef, spendSummary } from "./spend-summary.ts";

const argsSchema = z.object({ subject: spendSubjectSchema });

builder.queryFields((t) => ({
  spend: t.field({
    type: SpendSummaryRef,
    errors: { types: [ValidationError, NotFoundError] },
    description:
      "Spend of one subject in the current UTC calendar window of `period`, with the cap that binds it. Org admins may ask " +
      "about anyone; other users about themselves and their own keys.",
    args: {
      subject: t.arg({ type: SpendSubjectInput, required: true }),
      period: t.arg({ type: BudgetPeriodEnum, required: false, defaultValue: "DAILY" }),
    },
    authScopes: (_root, args, ctx) => spendScopes(ctx, args.subject),
    resolve: async (_root, args, ctx) => {
      const { subject } = parseInput(argsSchema, { subject: args.subject });
      const summary = await spendSummary(ctx.prisma, subject, args.period ?? "DAILY");
      if (!summary) {
        const { entity, id } = describeSpendSubject(subject);
        throw new NotFoundError(entity, id);
      }
      return summary;
    },
  }),
}));
