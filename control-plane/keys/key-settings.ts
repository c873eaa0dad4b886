// Reads and writes of a key's settings inside a change's transaction: lookup, model check, own limit and budgets.
import { microsToUsd } from "../../shared/money.ts";
import type { Tx } from "../db/client.ts";
import type { ApiKey, Budget, RateLimit } from "../db/generated/prisma/client.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import type { KeyBudget, KeyRateLimit } from "./issue-api-key.ts";

export async function findApiKeyOrThrow(tx: Tx, id: string) {
  const key = await tx.apiKey.findUnique({ where: { id }, include: { rateLimit: true, budgets: { orderBy: { period: "asc" } } } });
  if (!key) throw new NotFoundError("ApiKey", id);
  return key;
}

/** A key may only be narrowed to models that exist; names every unknown slug at once. */
export async function requireKnownModels(tx: Tx, slugs: string[]): Promise<void> {
  if (slugs.length === 0) return;
  const found = await tx.model.findMany({ where: { slug: { in: slugs } }, select: { slug: true } });
  const known = new Set(found.map((m) => m.slug));
  const unknown = slugs.filter((s) => !known.has(s));
  if (unknown.length > 0) throw new ValidationError([{ path: "modelSlugs", message: `unknown model slugs: ${unknown.join(", ")}` }]);
}

/** A limit with no cap at all is stored as no row: it would narrow nothing. */
export function hasAnyCap(limit: KeyRateLimit | null | undefined): limit is KeyRateLimit {
  return !!limit && (limit.requestsPerMinute !== null || limit.requestsPerSecond != null || limit.tokensPerMinute !== null || limit.concurrentRequests !== null);
}

export async function replaceKeyRateLimit(tx: Tx, apiKeyId: string, limit: KeyRateLimit | null): Promise<void> {
  if (!hasAnyCap(limit)) {
    await tx.rateLimit.deleteMany({ where: { apiKeyId } });
    return;
  }
  // A replacement: a dimension left out is cleared, not kept.
  const values = { ...limit, requestsPerSecond: limit.requestsPerSecond ?? null };
  await tx.rateLimit.upsert({ where: { apiKeyId }, create: { apiKeyId, ...values }, update: values, select: { id: true } });
}

export async function replaceKeyBudgets(tx: Tx, apiKeyId: string, budgets: KeyBudget[]): Promise<void> {
  await tx.budget.deleteMany({ where: { apiKeyId } });
  if (budgets.length > 0) await tx.budget.createMany({ data: budgets.map((b) => ({ apiKeyId, ...b })) });
}

export function limitValues(limit: RateLimit | null): KeyRateLimit | null {
  return (
    limit && {
      requestsPerMinute: limit.requestsPerMinute,
      requestsPerSecond: limit.requestsPerSecond,
      tokensPerMinute: limit.tokensPerMinute,
      concurrentRequests: limit.concurrentRequests,
    }
  );
}

export function budgetValues(budgets: Budget[]): KeyBudget[] {
  return budgets.map((b) => ({ period: b.period, capMicros: b.capMicros }));
}

/** What the audit log keeps of a key: the prefix identifies it; the secret and its hash never appear. */
export function keySnapshot(key: ApiKey & { rateLimit?: RateLimit | null; budgets?: Budget[] }) {
  return {
    name: key.name,
    prefix: key.prefix,
    owner: key.userId ? { userId: key.userId } : { virtualAccountId: key.virtualAccountId },
    scopes: key.scopes,
    modelSlugs: key.modelSlugs,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    ...(key.rateLimit !== undefined ? { rateLimit: limitValues(key.rateLimit) } : {}),
    ...(key.budgets ? { budgets: key.budgets.map((b) => ({ period: b.period, cap: microsToUsd(b.capMicros) })) } : {}),
  };
}
