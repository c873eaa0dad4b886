// The Budget type: a spending cap per calendar period (UTC).
import { builder } from "../builder.ts";

export const budgetPeriods = ["DAILY", "WEEKLY", "MONTHLY", "TOTAL"] as const;
export const BudgetPeriodEnum = builder.enumType("BudgetPeriod", { values: budgetPeriods });

builder.prismaObject("Budget", {
  fields: (t) => ({
    id: t.exposeID("id"),
    period: t.expose("period", { type: BudgetPeriodEnum }),
    cap: t.expose("capMicros", { type: "Usd" }),
    user: t.relation("user", { nullable: true }),
    group: t.relation("group", { nullable: true }),
    virtualAccount: t.relation("virtualAccount", { nullable: true }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});
