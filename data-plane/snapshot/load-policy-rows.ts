// Reads every row the snapshot is built from in one REPEATABLE READ transaction, so the policy version read first
// describes exactly the rows read after it (a change committed mid-build is simply the next build's business).
import type { Db } from "../../control-plane/db/client.ts";
import { Prisma } from "../../control-plane/db/generated/prisma/client.ts";

// Enough for a very large organisation on a slow database; Prisma's 5 s default would fail the build instead.
export const LOAD_TIMEOUT_MS = 60_000;

// The columns the snapshot reads, shared by the full load and the per-principal load (load-principal-rows.ts) so
// both hand the entry builders rows of one shape.
export const keyColumns = { id: true, prefix: true, hash: true, scopes: true, modelSlugs: true, userId: true, virtualAccountId: true, expiresAt: true } as const;
export const ownerColumns = { userId: true, groupId: true, virtualAccountId: true } as const;
export const grantColumns = { modelId: true, ...ownerColumns } as const;
export const accessColumns = { providerId: true, level: true, ...ownerColumns } as const;
export const limitColumns = { ...ownerColumns, apiKeyId: true, requestsPerMinute: true, requestsPerSecond: true, tokensPerMinute: true, concurrentRequests: true } as const;
export const budgetColumns = { ...ownerColumns, apiKeyId: true, period: true, capMicros: true } as const;

export async function loadPolicyRows(prisma: Db) {
  return prisma.$transaction(
    async (tx) => {
      // Statements run one after another on the transaction's connection; the first one fixes what all of them see.
      const version = await tx.policyVersion.findUnique({ where: { id: 1 }, select: { version: true } });
      const keys = await tx.apiKey.findMany({
        where: { revokedAt: null, OR: [{ user: { status: "ACTIVE" } }, { virtualAccount: { status: "ACTIVE" } }] },
        select: keyColumns,
      });
      // Only principals with a live key matter: nobody else can send a request.
      const users = await tx.user.findMany({
        where: { status: "ACTIVE", apiKeys: { some: { revokedAt: null } } },
        select: { id: true, email: true },
      });
      const memberships = await tx.groupMembership.findMany({
        where: { user: { status: "ACTIVE", apiKeys: { some: { revokedAt: null } } } },
        select: { userId: true, groupId: true },
      });
      const virtualAccounts = await tx.virtualAccount.findMany({
        where: { status: "ACTIVE", apiKeys: { some: { revokedAt: null } } },
        select: { id: true, name: true },
      });
      const groups = await tx.group.findMany({ select: { id: true, name: true } });
      const grants = await tx.modelGrant.findMany({ select: grantColumns });
      const providerAccess = await tx.providerAccess.findMany({ select: accessColumns });
      const rateLimits = await tx.rateLimit.findMany({ select: limitColumns });
      const budgets = await tx.budget.findMany({ select: budgetColumns });
      const models = await tx.model.findMany({ select: { id: true, slug: true, displayName: true, kind: true } });
      const routes = await tx.modelRoute.findMany({
        select: { id: true, modelId: true, providerModelId: true, priority: true, weight: true, status: true },
      });
      const providerModels = await tx.providerModel.findMany({
        select: { id: true, providerId: true, upstreamName: true, inputPricePerMTok: true, outputPricePerMTok: true, cachedInputPricePerMTok: true },
      });
      const providers = await tx.provider.findMany({
        select: { id: true, name: true, kind: true, baseUrl: true, status: true, settings: true, credentialsCiphertext: true },
      });
      return {
        version: version?.version ?? 0n,
        keys,
        users,
        memberships,
        virtualAccounts,
        groups,
        grants,
        providerAccess,
        rateLimits,
        budgets,
        models,
        routes,
        providerModels,
        providers,
      };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: LOAD_TIMEOUT_MS, maxWait: 10_000 },
  );
}

export type PolicyRows = Awaited<ReturnType<typeof loadPolicyRows>>;
/** What the principal and key entries are built from: the whole organisation's rows, or only some principals'. */
export type PrincipalRows = Pick<PolicyRows, "keys" | "users" | "memberships" | "virtualAccounts" | "groups" | "grants" | "providerAccess" | "rateLimits" | "budgets">;

/** Every grant, access, limit and budget row names its owner in exactly one of these columns (CHECK constraints). */
export interface OwnedRow {
  userId: string | null;
  groupId: string | null;
  virtualAccountId: string | null;
  apiKeyId?: string | null;
}

/** The owner key used to index rows: `u:`, `g:`, `v:` or `k:` and the id, so ids of different tables never mix. */
export function ownerKeyOf(row: OwnedRow): string {
  if (row.userId) return `u:${row.userId}`;
  if (row.groupId) return `g:${row.groupId}`;
  if (row.virtualAccountId) return `v:${row.virtualAccountId}`;
  return `k:${row.apiKeyId}`;
}

export function groupByOwner<T extends OwnedRow>(rows: readonly T[]): Map<string, T[]> {
  const byOwner = new Map<string, T[]>();
  for (const row of rows) {
    const key = ownerKeyOf(row);
    const list = byOwner.get(key);
    if (list) list.push(row);
    else byOwner.set(key, [row]);
  }
  return byOwner;
}
