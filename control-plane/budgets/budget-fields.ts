// The `budgets` field on User, Group and VirtualAccount: the subject's own caps, ordered by period, loaded in the same query.
import { builder } from "../builder.ts";

// Postgres orders an enum by declaration: DAILY, WEEKLY, MONTHLY, TOTAL.
const byPeriod = { orderBy: { period: "asc" as const } };
const description = "This subject's own budgets, one per period. The effective cap per period is the strictest over the user and its groups.";

builder.prismaObjectFields("User", (t) => ({
  budgets: t.relation("budgets", { description, query: byPeriod }),
}));

// A member may see their group, but not what it holds: that is for admins.
builder.prismaObjectFields("Group", (t) => ({
  budgets: t.relation("budgets", { description, query: byPeriod, authScopes: { orgAdmin: true } }),
}));

builder.prismaObjectFields("VirtualAccount", (t) => ({
  budgets: t.relation("budgets", { description, query: byPeriod }),
}));
