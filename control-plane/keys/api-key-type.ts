// The ApiKey type: a user's personal access token or a virtual account's key. Only its hash is stored, and the
// hash is never exposed; the secret appears once, in CreatedApiKey, when the key is created or rotated.
import { builder } from "../builder.ts";
import type { ApiKey } from "../db/generated/prisma/client.ts";
import { KEY_SCOPES, type KeyScope } from "./issue-api-key.ts";

export const KeyScopeEnum = builder.enumType("KeyScope", {
  description: "What a key may call: INFERENCE the data plane (/v1/...), ADMIN the control plane (this API).",
  values: { INFERENCE: { value: "inference" }, ADMIN: { value: "admin" } } as const,
});

export const apiKeyStatuses = ["ACTIVE", "REVOKED", "EXPIRED"] as const;
export type ApiKeyStatus = (typeof apiKeyStatuses)[number];
export const ApiKeyStatusEnum = builder.enumType("ApiKeyStatus", { values: apiKeyStatuses });

export function apiKeyStatus(key: Pick<ApiKey, "revokedAt" | "expiresAt">, now = new Date()): ApiKeyStatus {
  if (key.revokedAt) return "REVOKED";
  if (key.expiresAt && key.expiresAt <= now) return "EXPIRED";
  return "ACTIVE";
}

export function storedScopes(scopes: string[]): KeyScope[] {
  return scopes.filter((s): s is KeyScope => (KEY_SCOPES as readonly string[]).includes(s));
}

// Postgres orders an enum by declaration: DAILY, WEEKLY, MONTHLY, TOTAL.
const byPeriod = { orderBy: { period: "asc" as const } };

export const ApiKeyRef = builder.prismaObject("ApiKey", {
  // A key is visible to org admins and, for a personal key, to its owner.
  authScopes: (key) => (key.userId ? { orgAdmin: true, self: key.userId } : { orgAdmin: true }),
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    prefix: t.exposeString("prefix", { description: "The visible start of the secret, enough to recognise the key in lists and logs." }),
    scopes: t.field({ type: [KeyScopeEnum], resolve: (key) => storedScopes(key.scopes) }),
    modelSlugs: t.exposeStringList("modelSlugs", {
      description: "The models this key is narrowed to; empty means every model its owner may use. A key never widens its owner's access.",
    }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", nullable: true }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true }),
    lastUsedAt: t.expose("lastUsedAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    status: t.field({ type: ApiKeyStatusEnum, resolve: (key) => apiKeyStatus(key) }),
    user: t.relation("user", { nullable: true, description: "The owner of a personal key; null for a virtual account's key." }),
    virtualAccount: t.relation("virtualAccount", { nullable: true, description: "The owner of a virtual account's key; null for a personal key." }),
    rateLimit: t.relation("rateLimit", {
      nullable: true,
      description: "The key's own rate limit (null: none). It narrows the owner's effective limit, never widens it.",
    }),
    budgets: t.relation("budgets", {
      query: byPeriod,
      description: "The key's own budgets, one per period. They narrow the owner's effective budgets, never widen them.",
    }),
  }),
});

export interface CreatedApiKey {
  key: ApiKey;
  secret: string;
}

export const CreatedApiKeyRef = builder.objectRef<CreatedApiKey>("CreatedApiKey").implement({
  description: "A new key and its secret. The secret is shown only here, once: Tollgate stores only its hash.",
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (created) => created.key }),
    secret: t.exposeString("secret", { description: "Send it as `Authorization: Bearer <secret>` or `x-api-key`. It cannot be shown again." }),
  }),
});
