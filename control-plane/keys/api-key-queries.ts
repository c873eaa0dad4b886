// Reading keys: the `apiKeys` list, and the apiKeys field on User and VirtualAccount. Newest first.
import { isOrgAdmin } from "../auth/caller.ts";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";
import { isUuid } from "../validation.ts";
import { keyOwnerScopes } from "./key-authorization.ts";
import { pagedQuery } from "../db/paged-query.ts";

const newestFirst = [{ createdAt: "desc" as const }, { id: "desc" as const }];

interface KeyFilter {
  userId?: string | number | null;
  virtualAccountId?: string | number | null;
  includeRevoked?: boolean | null;
}

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection({
    type: "ApiKey",
    cursor: "id",
    description:
      "Keys, newest first; revoked keys only with includeRevoked. Org admins see any keys (all when no owner is given); " +
      "others only their own.",
    args: {
      userId: t.arg.id({ required: false }),
      virtualAccountId: t.arg.id({ required: false }),
      includeRevoked: t.arg.boolean({ required: false, defaultValue: false }),
    },
    authScopes: (_root, args) => keyOwnerScopes(args),
    resolve: (query, _root, args, ctx) => ctx.prisma.apiKey.findMany({ ...pagedQuery(query), where: keyWhere(args, ctx), orderBy: newestFirst }),
    totalCount: (_conn, args, ctx) => ctx.prisma.apiKey.count({ where: keyWhere(args, ctx) }),
  }),
}));

function keyWhere(args: KeyFilter, ctx: Context): Prisma.ApiKeyWhereInput {
  const where: Prisma.ApiKeyWhereInput = args.includeRevoked ? {} : { revokedAt: null };
  const ids = [args.userId, args.virtualAccountId].filter((id) => id != null).map(String);
  // A malformed id matches nothing rather than failing in the database.
  if (ids.some((id) => !isUuid(id))) return { id: { in: [] } };
  if (args.userId != null) where.userId = String(args.userId);
  if (args.virtualAccountId != null) where.virtualAccountId = String(args.virtualAccountId);
  // A member who names no owner sees their own keys.
  if (ids.length === 0 && !isOrgAdmin(ctx.caller)) where.userId = ctx.caller!.userId;
  return where;
}

builder.prismaObjectFields("User", (t) => ({
  apiKeys: t.relation("apiKeys", {
    description: "The user's keys, newest first; revoked ones only with includeRevoked.",
    args: { includeRevoked: t.arg.boolean({ required: false, defaultValue: false }) },
    authScopes: (user) => ({ orgAdmin: true, self: user.id }),
    query: (args) => ({ where: args.includeRevoked ? {} : { revokedAt: null }, orderBy: newestFirst }),
  }),
}));

builder.prismaObjectFields("VirtualAccount", (t) => ({
  apiKeys: t.relation("apiKeys", {
    description: "The account's keys, newest first; revoked ones only with includeRevoked.",
    args: { includeRevoked: t.arg.boolean({ required: false, defaultValue: false }) },
    authScopes: { orgAdmin: true },
    query: (args) => ({ where: args.includeRevoked ? {} : { revokedAt: null }, orderBy: newestFirst }),
  }),
}));
