// Reading virtual accounts: the list (search, cursor pagination) and one account by id.
import { builder } from "../builder.ts";
import { textSearch } from "../text-search.ts";
import { isUuid } from "../validation.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  virtualAccounts: t.prismaConnection({
    type: "VirtualAccount",
    cursor: "id",
    authScopes: { orgAdmin: true },
    description: "Virtual accounts ordered by name; `search` matches name or description, case-insensitive.",
    args: { search: t.arg.string({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.virtualAccount.findMany({
        ...pagedQuery(query),
        where: textSearch(args.search, ["name", "description"] as const),
        orderBy: [{ name: "asc" }, { id: "asc" }],
      }),
    totalCount: (_conn, args, ctx) => ctx.prisma.virtualAccount.count({ where: textSearch(args.search, ["name", "description"] as const) }),
  }),
  virtualAccount: t.prismaField({
    type: "VirtualAccount",
    nullable: true,
    authScopes: { orgAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      isUuid(args.id) ? ctx.prisma.virtualAccount.findUnique({ ...query, where: { id: args.id } }) : null,
  }),
}));
