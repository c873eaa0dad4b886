// Mints a key for a user or virtual account inside a transaction; returns the secret, which is never stored.
import { mintApiKey } from "../../shared/api-key-format.ts";
import type { Tx } from "../db/client.ts";
import type { BudgetPeriod } from "../db/generated/prisma/client.ts";

export const KEY_SCOPES = ["inference", "admin"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** A key's own caps; null means no cap of the key's own in that dimension (the owner's still apply). */
export interface KeyRateLimit {
  requestsPerMinute: number | null;
  /** Optional so callers that predate the per-second limit need not name it; absent = null. */
  requestsPerSecond?: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
}

export interface KeyBudget {
  period: BudgetPeriod;
  capMicros: bigint;
}

export interface IssueKeyInput {
  owner: { userId: string } | { virtualAccountId: string };
  name: string;
  scopes: KeyScope[];
  modelSlugs?: string[];
  expiresAt?: Date | null;
  rateLimit?: KeyRateLimit | null;
  budgets?: KeyBudget[];
}

export async function issueApiKey(tx: Tx, input: IssueKeyInput) {
  const minted = mintApiKey("userId" in input.owner ? "user" : "virtualAccount");
  const key = await tx.apiKey.create({
    data: {
      ...input.owner,
      name: input.name,
      prefix: minted.prefix,
      hash: minted.hash,
      scopes: input.scopes,
      modelSlugs: input.modelSlugs ?? [],
      expiresAt: input.expiresAt ?? null,
      ...(input.rateLimit ? { rateLimit: { create: input.rateLimit } } : {}),
      ...(input.budgets?.length ? { budgets: { create: input.budgets } } : {}),
    },
  });
  return { key, secret: minted.secret };
}
