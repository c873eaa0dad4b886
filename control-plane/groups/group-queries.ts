// Reading groups: the list (search, cursor pagination) and one group by id.
import { builder } from "../builder.ts";
import { textSearch } from "../text-search.ts";
import { isUuid } from "../validation.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  groups: t.prismaConnection({
    type: "Group",
    cursor: "id",
    authScopes: { orgAdmin: true },
    description: "Groups ordered by name; `search` matches name or description, case-insensitive.",
    args: { search: t.arg.string({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.group.findMany({ ...pagedQuery(query), where: textSearch(args.search, ["name", "description"] as const), orderBy: [{ name: "asc" }, { id: "asc" }] }),
    totalCount: (_conn, args, ctx) => ctx.prisma.group.count({ where: textSearch(args.search, ["name", "description"] as const) }),
  }),
  group: t.prismaField({
    type: "Group",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    // A malformed id cannot name a group anyone belongs to (and would fail the membership lookup).
    authScopes: (_root, args) => (isUuid(args.id) ? { orgAdmin: true, groupMember: args.id } : { orgAdmin: true }),
    resolve: (query, _root, args, ctx) =>
      isUuid(args.id) ? ctx.prisma.group.findUnique({ ...query, where: { id: args.id } }) : null,
  }),
}));
