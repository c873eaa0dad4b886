// The rows of a users export: what the users table shows, read in keyset pages of 500 so a large
// organisation is never loaded by one giant query, and each page in a fixed number of queries (no N+1).
import type { Db } from "../db/client.ts";
import type { OrgRole, Prisma, UserStatus } from "../db/generated/prisma/client.ts";
import { mergeAllowedProviders } from "./user-table-fields.ts";
import { usersMatching } from "./user-table-queries.ts";

export const EXPORT_PAGE_SIZE = 500;

export interface UserExportRow {
  name: string;
  email: string;
  role: OrgRole;
  status: UserStatus;
  groups: string[];
  keyCount: number;
  allowedProviders: string[];
  lastLoginAt: Date | null;
}

const providerAccessSelect = { select: { level: true, provider: { select: { id: true, name: true } } } } as const;

const exportSelect = {
  name: true,
  email: true,
  role: true,
  status: true,
  lastLoginAt: true,
  providerAccess: providerAccessSelect,
  memberships: {
    select: { group: { select: { name: true, providerAccess: providerAccessSelect } } },
    orderBy: { group: { name: "asc" } },
  },
  _count: { select: { apiKeys: { where: { revokedAt: null } } } },
} as const;

/** Every user matching `search`, ordered by email, page by page. */
export async function* userExportPages(prisma: Db, search: string | null): AsyncGenerator<UserExportRow[]> {
  let after: string | null = null;
  for (;;) {
    const users: Prisma.UserGetPayload<{ select: typeof exportSelect }>[] = await prisma.user.findMany({
      where: { AND: [usersMatching(search), after === null ? {} : { email: { gt: after } }] },
      orderBy: { email: "asc" },
      take: EXPORT_PAGE_SIZE,
      select: exportSelect,
    });
    yield users.map((u) => ({
      name: u.name,
      email: u.email,
      role: u.role,
      status: u.status,
      groups: u.memberships.map((m) => m.group.name),
      keyCount: u._count.apiKeys,
      allowedProviders: mergeAllowedProviders(u).map((a) => a.provider.name),
      lastLoginAt: u.lastLoginAt,
    }));
    if (users.length < EXPORT_PAGE_SIZE) return;
    after = users[users.length - 1]!.email;
  }
}
