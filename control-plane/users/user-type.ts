// The User type: a person in the organisation, with role, status and group memberships.
import { batchedCount, type BatchLoader, countsBy } from "../batched-load.ts";
import { builder } from "../builder.ts";

export const orgRoles = ["OWNER", "ADMIN", "MEMBER"] as const;
export const userStatuses = ["INVITED", "ACTIVE", "DISABLED"] as const;
export const OrgRoleEnum = builder.enumType("OrgRole", { values: orgRoles });
export const UserStatusEnum = builder.enumType("UserStatus", { values: userStatuses });

const groupCounts: BatchLoader<number> = async (prisma, ids) =>
  countsBy(await prisma.groupMembership.groupBy({ by: ["userId"], where: { userId: { in: ids } }, _count: { _all: true } }), "userId");

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
      select: (_args, _ctx, nestedSelection) => ({
        memberships: { select: { group: nestedSelection(true) }, orderBy: { group: { name: "asc" } } },
      }),
      resolve: (_query, user) => user.memberships.map((m) => m.group),
    }),
  }),
});
