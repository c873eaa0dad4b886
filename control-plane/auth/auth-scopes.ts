// The authorization scopes fields declare (Pothos scope-auth): the caller's role, identity, group memberships
// and provider MANAGER access. Loaders run only when a field asks, once per request and argument.
import type { Context } from "../context.ts";
import { isOrgAdmin } from "./caller.ts";

export interface AuthScopes {
  authenticated: boolean;
  orgAdmin: boolean;
  owner: boolean;
  /** The caller is this user. */
  self: string;
  /** The caller belongs to this group. */
  groupMember: string;
  /** The caller holds MANAGER access to this provider, directly or through a group. */
  providerManager: string;
}

export function authScopes(ctx: Context) {
  const caller = ctx.caller;
  return {
    authenticated: caller !== null,
    orgAdmin: isOrgAdmin(caller),
    owner: caller?.role === "OWNER",
    self: (userId: string) => caller !== null && caller.userId === String(userId),
    groupMember: async (groupId: string) => caller !== null && (await callerGroupIds(ctx)).has(String(groupId)),
    providerManager: async (providerId: string) =>
      caller !== null && (await managedProviderIds(ctx)).has(String(providerId)),
  };
}

/** Groups the caller belongs to; loaded once per request. */
function callerGroupIds(ctx: Context): Promise<Set<string>> {
  const caller = ctx.caller;
  if (!caller) return Promise.resolve(new Set());
  ctx.callerGroups ??= ctx.prisma.groupMembership
    .findMany({ where: { userId: caller.userId }, select: { groupId: true } })
    .then((rows) => new Set(rows.map((r) => r.groupId)));
  return ctx.callerGroups;
}

/** Providers the caller manages; loaded once per request. */
export function managedProviderIds(ctx: Context): Promise<Set<string>> {
  const caller = ctx.caller;
  if (!caller) return Promise.resolve(new Set());
  ctx.managedProviders ??= ctx.prisma.providerAccess
    .findMany({
      where: {
        level: "MANAGER",
        OR: [{ userId: caller.userId }, { group: { members: { some: { userId: caller.userId } } } }],
      },
      select: { providerId: true },
    })
    .then((rows) => new Set(rows.map((r) => r.providerId)));
  return ctx.managedProviders;
}
