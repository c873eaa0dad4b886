// Columns of the users table on User: live key count and allowed providers (direct or through groups), each
// loaded in the same query as the users themselves.
import { getRefFromModel } from "@pothos/plugin-prisma";
import { builder } from "../builder.ts";
import type { AccessLevel, Provider } from "../db/generated/prisma/client.ts";
import { AccessLevelEnum } from "../provider-access/provider-access-type.ts";

export interface AllowedProvider<P extends ProviderRef = Provider> {
  provider: P;
  /** The strongest level over every path. */
  level: AccessLevel;
  /** "direct" and/or the names of the groups the access comes through. */
  via: string[];
}

type ProviderRef = Pick<Provider, "id" | "name">;

interface AccessRow<P extends ProviderRef> {
  level: AccessLevel;
  provider: P;
}

export interface UserAccessRows<P extends ProviderRef> {
  providerAccess: AccessRow<P>[];
  memberships: { group: { name: string; providerAccess: AccessRow<P>[] } }[];
}

/** What `allowedProviders` needs from a user row: its own access and its groups' access, with the providers. */
export const allowedProvidersSelect = {
  providerAccess: { select: { level: true, provider: true } },
  memberships: { select: { group: { select: { name: true, providerAccess: { select: { level: true, provider: true } } } } } },
} as const;

/** One entry per provider, strongest level wins, "direct" listed before group names (alphabetical); ordered by provider name. */
export function mergeAllowedProviders<P extends ProviderRef>(user: UserAccessRows<P>): AllowedProvider<P>[] {
  const byProvider = new Map<string, AllowedProvider<P>>();
  const add = (row: AccessRow<P>, via: string) => {
    const seen = byProvider.get(row.provider.id);
    if (!seen) {
      byProvider.set(row.provider.id, { provider: row.provider, level: row.level, via: [via] });
      return;
    }
    if (row.level === "MANAGER") seen.level = "MANAGER";
    if (!seen.via.includes(via)) seen.via.push(via);
  };
  for (const row of user.providerAccess) add(row, "direct");
  for (const { group } of user.memberships) for (const row of group.providerAccess) add(row, group.name);
  const merged = [...byProvider.values()];
  for (const entry of merged) entry.via.sort((a, b) => (a === "direct" ? -1 : b === "direct" ? 1 : a.localeCompare(b)));
  return merged.sort((a, b) => a.provider.name.localeCompare(b.provider.name));
}

// The Provider type registered by the providers domain, looked up by model name.
const ProviderObject = getRefFromModel("Provider", builder, "object");

const AllowedProviderRef = builder.objectRef<AllowedProvider>("AllowedProvider").implement({
  description: "A provider a user may use, and why.",
  fields: (t) => ({
    provider: t.field({ type: ProviderObject, resolve: (a) => a.provider }),
    level: t.expose("level", { type: AccessLevelEnum }),
    via: t.exposeStringList("via", { description: '"direct" when given to the user, otherwise the groups it comes through.' }),
  }),
});

builder.prismaObjectFields("User", (t) => ({
  keyCount: t.relationCount("apiKeys", { where: { revokedAt: null }, description: "Keys of this user that are not revoked." }),
  allowedProviders: t.field({
    type: [AllowedProviderRef],
    description: "Providers the user may use, directly or through groups: one entry each, with the strongest level and where it comes from.",
    select: allowedProvidersSelect,
    resolve: (user) => mergeAllowedProviders(user),
  }),
}));
