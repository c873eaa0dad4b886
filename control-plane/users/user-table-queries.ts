// The users table's status line: how many users match the search, and how many of them have no assignment at all.
import { builder } from "../builder.ts";
import { textSearch } from "../text-search.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";

/** The users list's search: name or email contains the term, case-insensitive. */
export function usersMatching(search: string | null | undefined): Prisma.UserWhereInput {
  return textSearch(search, ["name", "email"] as const);
}

/** No model grant and no provider access, neither directly nor through any group: such a user can use nothing. */
export const withoutAssignment: Prisma.UserWhereInput = {
  grants: { none: {} },
  providerAccess: { none: {} },
  memberships: { none: { group: { OR: [{ grants: { some: {} } }, { providerAccess: { some: {} } }] } } },
};

interface UsersSummary {
  total: number;
  withoutAssignment: number;
}

const UsersSummaryRef = builder.objectRef<UsersSummary>("UsersSummary").implement({
  fields: (t) => ({
    total: t.exposeInt("total"),
    withoutAssignment: t.exposeInt("withoutAssignment", {
      description: "Users with no model grant and no provider access, directly or through any group.",
    }),
  }),
});

builder.queryFields((t) => ({
  usersSummary: t.field({
    type: UsersSummaryRef,
    description: "Counts for the users table under the same `search` as `users`.",
    authScopes: { orgAdmin: true },
    args: { search: t.arg.string({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const where = usersMatching(args.search);
      const [total, unassigned] = await Promise.all([
        ctx.prisma.user.count({ where }),
        ctx.prisma.user.count({ where: { AND: [where, withoutAssignment] } }),
      ]);
      return { total, withoutAssignment: unassigned };
    },
  }),
}));
