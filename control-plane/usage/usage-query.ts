// `usage`: usage records summed per day, user, virtual account, model and/or key, over a bounded time range.
import { builder } from "../builder.ts";
import { aggregateUsage } from "./usage-aggregate.ts";
import { parseUsageFilter, usageScopes } from "./usage-filter.ts";
import { UsageDimensionEnum, UsageFilterInput, UsageRowRef } from "./usage-type.ts";

builder.queryFields((t) => ({
  usage: t.field({
    type: [UsageRowRef],
    description:
      "Requests, tokens, cost and errors summed per combination of `groupBy` (an empty list gives one row of totals), " +
      "ordered by day, then cost (highest first). Org admins may filter by anything; other users see only their own usage " +
      "(filter.userId defaults to themselves). A bad filter or a range over 366 days is refused with code VALIDATION.",
    args: {
      filter: t.arg({ type: UsageFilterInput, required: false }),
      groupBy: t.arg({ type: [UsageDimensionEnum], required: false, defaultValue: ["DAY"] }),
    },
    authScopes: (_root, args) => usageScopes(args.filter),
    resolve: (_root, args, ctx) =>
      aggregateUsage(ctx.prisma, parseUsageFilter(args.filter, ctx), new Set(args.groupBy ?? ["DAY"])),
  }),
}));
