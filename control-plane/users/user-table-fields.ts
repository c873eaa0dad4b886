// Columns of the users table on User: live key count and allowed providers (direct or through groups), each loaded
// for the whole page at once (batched-load.ts): one grouped count, and one access query plus one for the providers.
import { getRefFromModel } from "@pothos/plugin-prisma";
import { batchedCount, batchedLoad, type BatchLoader } from "../batched-load.ts";
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

/** What `allowedProviders` needs from a user row: its own access and its groups' access, with the providers (the export selects this). */
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

const liveKeyCounts: BatchLoader<number> = async (prisma, ids) => {
  const rows = await prisma.$rows<{ userId: string; count: number }>(
    `SELECT "userId", count(*)::int AS "count" FROM "ApiKey" WHERE "userId" = ANY($1::uuid[]) AND "revokedAt" IS NULL GROUP BY "userId"`,
    [ids],
  );
  return new Map(rows.map((row) => [row.userId, row.count]));
};

/** Every access path of the page's users in one statement (direct, or a group's name), then their providers in one more. */
const allowedProvidersOf: BatchLoader<AllowedProvider[]> = async (prisma, ids) => {
  const paths = await prisma.$rows<{ userId: string; providerId: string; level: AccessLevel; via: string | null }>(
    `SELECT a."userId", a."providerId", a."level"::text AS "level", NULL AS "via"
      FROM "ProviderAccess" a WHERE a."userId" = ANY($1::uuid[])
    UNION ALL
    SELECT m."userId", a."providerId", a."level"::text, g."name"
      FROM "GroupMembership" m JOIN "Group" g ON g."id" = m."groupId" JOIN "ProviderAccess" a ON a."groupId" = m."groupId"
      WHERE m."userId" = ANY($1::uuid[])`,
    [ids],
  );
  const providerIds = [...new Set(paths.map((p) => p.providerId))];
  // Asked even when no path exists, so a page costs the same statements whatever it holds.
  const providers = new Map((await prisma.$rows<Provider>(`SELECT * FROM "Provider" WHERE "id" = ANY($1::uuid[])`, [providerIds])).map((p) => [p.id, p]));
  const rows = new Map<string, UserAccessRows<Provider>>();
  for (const path of paths) {
    const provider = providers.get(path.providerId);
    if (!provider) continue;
    let user = rows.get(path.userId);
    if (!user) rows.set(path.userId, (user = { providerAccess: [], memberships: [] }));
    if (path.via === null) user.providerAccess.push({ level: path.level, provider });
    else user.memberships.push({ group: { name: path.via, providerAccess: [{ level: path.level, provider }] } });
  }
  return new Map([...rows].map(([userId, user]) => [userId, mergeAllowedProviders(user)]));
};

builder.prismaObjectFields("User", (t) => ({
  keyCount: t.int({ description: "Keys of this user that are not revoked.", resolve: (user, _args, ctx) => batchedCount(ctx, liveKeyCounts, user.id) }),
  allowedProviders: t.field({
    type: [AllowedProviderRef],
    description: "Providers the user may use, directly or through groups: one entry each, with the strongest level and where it comes from.",
    resolve: async (user, _args, ctx) => (await batchedLoad(ctx, allowedProvidersOf, user.id)) ?? [],
  }),
}));
