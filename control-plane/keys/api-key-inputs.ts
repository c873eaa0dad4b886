// GraphQL inputs of the key mutations and the zod schemas that turn them into trusted values.
import { z } from "zod";
import { builder } from "../builder.ts";
import { BudgetPeriodEnum, budgetPeriods } from "../budgets/budget-type.ts";
import { name, nonNegativeInt, uuid } from "../validation.ts";
import { KeyScopeEnum } from "./api-key-type.ts";
import { KEY_SCOPES } from "./issue-api-key.ts";

export const KeyRateLimitInput = builder.inputType("KeyRateLimitInput", {
  description: "The key's own caps; an omitted or null field leaves that dimension to the owner's limits.",
  fields: (t) => ({
    requestsPerMinute: t.int({ required: false }),
    requestsPerSecond: t.int({ required: false, description: "A burst cap over a sliding second (any 1000 ms)." }),
    tokensPerMinute: t.int({ required: false }),
    concurrentRequests: t.int({ required: false }),
  }),
});

export const KeyBudgetInput = builder.inputType("KeyBudgetInput", {
  fields: (t) => ({
    period: t.field({ type: BudgetPeriodEnum, required: true }),
    cap: t.field({ type: "Usd", required: true, description: 'Decimal USD, e.g. "5.00"; 0 blocks all spending through this key.' }),
  }),
});

export const CreateApiKeyInput = builder.inputType("CreateApiKeyInput", {
  description: "Give at most one of userId and virtualAccountId; with neither, the key is the caller's own.",
  fields: (t) => ({
    name: t.string({ required: true }),
    userId: t.id({ required: false, description: "Another user's key: org admins only." }),
    virtualAccountId: t.id({ required: false, description: "A virtual account's key: org admins only; never the ADMIN scope." }),
    scopes: t.field({ type: [KeyScopeEnum], required: false, defaultValue: ["inference"] }),
    modelSlugs: t.stringList({ required: false, description: "Narrow the key to these models (they must exist); omit for every model the owner may use." }),
    expiresAt: t.field({ type: "DateTime", required: false, description: "Must be in the future; omit for a key that does not expire." }),
    rateLimit: t.field({ type: KeyRateLimitInput, required: false }),
    budgets: t.field({ type: [KeyBudgetInput], required: false, description: "At most one per period." }),
  }),
});

export const UpdateApiKeyInput = builder.inputType("UpdateApiKeyInput", {
  description: "Omit a field to keep it as it is.",
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false }),
    modelSlugs: t.stringList({ required: false, description: "Replaces the key's models; null or [] means every model the owner may use." }),
    expiresAt: t.field({ type: "DateTime", required: false, description: "Must be in the future; null removes the expiry." }),
    rateLimit: t.field({ type: KeyRateLimitInput, required: false, description: "Replaces the key's own limit; null removes it." }),
    budgets: t.field({ type: [KeyBudgetInput], required: false, description: "Replaces all of the key's budgets; null or [] removes them." }),
  }),
});

/** Longest overlap of old and new key during a rotation. */
export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;

export const RotateApiKeyInput = builder.inputType("RotateApiKeyInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    gracePeriodSeconds: t.int({
      required: false,
      defaultValue: 0,
      description: `How long the old key keeps working (0 to ${MAX_GRACE_SECONDS}, i.e. 7 days); 0 revokes it at once.`,
    }),
  }),
});

// A trillion dollars is far beyond any real cap and far inside the BigInt column.
const MAX_CAP_MICROS = 1_000_000_000_000n * 1_000_000n;

const modelSlugs = z
  .array(z.string().trim().min(1, "model slugs must not be empty"))
  .max(500, "at most 500 models per key")
  .transform((slugs) => [...new Set(slugs)]);

const futureDate = (what: string) => z.date().refine((d) => d.getTime() > Date.now(), `${what} must be in the future`);

// Null and omitted both mean "no cap of the key's own" inside a limit that is being set.
const capValue = (what: string) => nonNegativeInt(what).nullish().transform((v) => v ?? null);
const rateLimit = z.object({
  requestsPerMinute: capValue("requestsPerMinute"),
  requestsPerSecond: capValue("requestsPerSecond"),
  tokensPerMinute: capValue("tokensPerMinute"),
  concurrentRequests: capValue("concurrentRequests"),
});

const budgets = z
  .array(
    z.object({
      period: z.enum(budgetPeriods),
      cap: z.bigint().min(0n, "cap must not be negative").max(MAX_CAP_MICROS, "cap must be at most 1000000000000.00"),
    }),
  )
  .refine((list) => new Set(list.map((b) => b.period)).size === list.length, "give at most one budget per period")
  .transform((list) => list.map((b) => ({ period: b.period, capMicros: b.cap })));

export const createSchema = z
  .object({
    name: name("name"),
    userId: uuid("userId").nullish(),
    virtualAccountId: uuid("virtualAccountId").nullish(),
    scopes: z
      .array(z.enum(KEY_SCOPES))
      .nullish()
      .transform((s) => [...new Set(s ?? ["inference" as const])])
      .refine((s) => s.length > 0, "give at least one scope"),
    modelSlugs: modelSlugs.nullish().transform((s) => s ?? []),
    expiresAt: futureDate("expiresAt").nullish().transform((d) => d ?? null),
    rateLimit: rateLimit.nullish().transform((l) => l ?? null),
    budgets: budgets.nullish().transform((b) => b ?? []),
  })
  .refine((k) => !(k.userId && k.virtualAccountId), { message: "give at most one of userId and virtualAccountId", path: ["virtualAccountId"] })
  .refine((k) => !(k.virtualAccountId && k.scopes.includes("admin")), {
    message: "a virtual account's key cannot have the ADMIN scope: the control plane is for people",
    path: ["scopes"],
  });

// nullable().optional() keeps omitted (unchanged) apart from null (cleared).
export const updateSchema = z.object({
  id: uuid("id"),
  name: name("name").nullish(),
  modelSlugs: modelSlugs.nullable().optional(),
  expiresAt: futureDate("expiresAt").nullable().optional(),
  rateLimit: rateLimit.nullable().optional(),
  budgets: budgets.nullable().optional(),
});

export const rotateSchema = z.object({
  id: uuid("id"),
  gracePeriodSeconds: z
    .number()
    .int("gracePeriodSeconds must be a whole number")
    .min(0, "gracePeriodSeconds must not be negative")
    .max(MAX_GRACE_SECONDS, `gracePeriodSeconds must be at most ${MAX_GRACE_SECONDS} (7 days)`)
    .nullish()
    .transform((g) => g ?? 0),
});
