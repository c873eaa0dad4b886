// The Group type: a named set of users whose grants, provider access, limits and budgets apply to each member.
import { batchedCount, type BatchLoader, countsBy } from "../batched-load.ts";
import { builder } from "../builder.ts";

const memberCounts: BatchLoader<number> = async (prisma, ids) =>
  countsBy(await prisma.groupMembership.groupBy({ by: ["groupId"], where: { groupId: { in: ids } }, _count: { _all: true } }), "groupId");

// Members see the groups they belong to; who is in them and what they hold is for admins (fields below and in other domains).
builder.prismaObject("Group", {
  authScopes: (group) => ({ orgAdmin: true, groupMember: group.id }),
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    memberCount: t.int({ resolve: (group, _args, ctx) => batchedCount(ctx, memberCounts, group.id) }),
    members: t.prismaField({
      type: ["User"],
      authScopes: { orgAdmin: true },
      select: (_args, _ctx, nestedSelection) => ({
        members: { select: { user: nestedSelection(true) }, orderBy: { user: { email: "asc" } } },
      }),
      resolve: (_query, group) => group.members.map((m) => m.user),
    }),
  }),
});
