// The User type: a person in the organisation, with role, status and group memberships.
import { batchedCount, batchedQueryLoad, type BatchLoader, countsBy, listsBy, ownFieldsAnd } from "../batched-load.ts";
import { builder } from "../builder.ts";
import type { Group, Prisma } from "../db/generated/prisma/client.ts";

export const orgRoles = ["OWNER", "ADMIN", "MEMBER"] as const;
export const userStatuses = ["INVITED", "ACTIVE", "DISABLED"] as const;
export const OrgRoleEnum = builder.enumType("OrgRole", { values: orgRoles });
export const UserStatusEnum = builder.enumType("UserStatus", { values: userStatuses });

const groupCounts: BatchLoader<number> = async (prisma, ids) =>
  countsBy(await prisma.groupMembership.groupBy({ by: ["userId"], where: { userId: { in: ids } }, _count: { _all: true } }), "userId");

type GroupQuery = { include?: Prisma.GroupInclude; select?: Prisma.GroupSelect };

/**
 * Each user's groups by name, for every user a request shows. A selection of the groups' own fields (the users page's)
 * is one plain statement; Prisma's nested load of memberships and their groups cost ~10 ms of control-plane CPU per
 * page of 50. A selection reaching further (members, grants…) goes to Prisma as planned.
 */
const groupsOfUsers: BatchLoader<Group[], GroupQuery> = async (prisma, ids, query) => {
  if (!ownFieldsAnd(query)) {
    const group = query.select ? { select: query.select } : { include: query.include };
    const memberships = await prisma.groupMembership.findMany({
      where: { userId: { in: ids } },
      select: { userId: true, group },
      orderBy: { group: { name: "asc" } },
    });
    return listsBy(memberships, (m) => m.userId, (m) => m.group as Group);
  }
  const rows = await prisma.$rows<Group & { memberId: string }>(
    `SELECT m."userId" AS "memberId", g.* FROM "GroupMembership" m JOIN "Group" g ON g."id" = m."groupId"
      WHERE m."userId" = ANY($1::uuid[]) ORDER BY g."name"`,
    [ids],
  );
  return listsBy(rows, (row) => row.memberId, ({ memberId: _, ...group }) => group);
};

// Admins see every user; anyone else sees only themselves, including their own grants, access, limits, budgets and groups.
builder.prismaObject("User", {
  authScopes: (user) => ({ orgAdmin: true, self: user.id }),
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email"),
    name: t.exposeString("name"),
    role: t.expose("role", { type: OrgRoleEnum }),
    status: t.expose("status", { type: UserStatusEnum }),
    lastLoginAt: t.expose("lastLoginAt", { type: "DateTime", nullable: true }),
    lastSeenAt: t.expose("lastSeenAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    groupCount: t.int({ resolve: (user, _args, ctx) => batchedCount(ctx, groupCounts, user.id) }),
    groups: t.prismaField({
      type: ["Group"],
      resolve: async (query, user, _args, ctx) => (await batchedQueryLoad(ctx, groupsOfUsers, user.id, query)) ?? [],
    }),
  }),
});
