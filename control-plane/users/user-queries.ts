// Reading users: the list (search, cursor pagination) and one user by id.
import { builder } from "../builder.ts";
import { usersMatching } from "./user-table-queries.ts";
import { isUuid } from "../validation.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  users: t.prismaConnection({
    type: "User",
    cursor: "id",
    authScopes: { orgAdmin: true },
    description: "Users ordered by email; `search` matches name or email, case-insensitive.",
    args: { search: t.arg.string({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.user.findMany({ ...pagedQuery(query), where: usersMatching(args.search), orderBy: [{ email: "asc" }, { id: "asc" }] }),
    totalCount: (_conn, args, ctx) => ctx.prisma.user.count({ where: usersMatching(args.search) }),
  }),
  user: t.prismaField({
    type: "User",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ orgAdmin: true, self: String(args.id) }),
    resolve: (query, _root, args, ctx) => (isUuid(args.id) ? ctx.prisma.user.findUnique({ ...query, where: { id: args.id } }) : null),
  }),
}));
