// The usage filter: who may use which filter, its validation, and the bounded time range every report runs over.
import { z } from "zod";
import { isOrgAdmin } from "../auth/caller.ts";
import type { Context } from "../context.ts";
import { uuid } from "../validation.ts";
import { parseArguments } from "../validation.ts";

const DAY_MS = 86_400_000;
export const DEFAULT_RANGE_DAYS = 30;
export const MAX_RANGE_DAYS = 366;

interface UsageFilterArgs {
  userId?: string | number | null;
  groupId?: string | number | null;
  virtualAccountId?: string | number | null;
}

/**
 * Org admins may filter by anything. Anyone else sees only their own usage: naming themselves (or nobody) is fine,
 * naming another user, a group or a virtual account is FORBIDDEN. Key and model filters only narrow their own rows.
 */
export function usageScopes(filter: UsageFilterArgs | null | undefined) {
  if (filter?.groupId != null || filter?.virtualAccountId != null) return { orgAdmin: true };
  if (filter?.userId != null) return { orgAdmin: true, self: String(filter.userId) };
  return { authenticated: true };
}

const filterSchema = z.object({
  userId: uuid("userId").nullish(),
  groupId: uuid("groupId").nullish(),
  virtualAccountId: uuid("virtualAccountId").nullish(),
  apiKeyId: uuid("apiKeyId").nullish(),
  modelSlug: z.string().trim().min(1, "modelSlug must not be empty").max(100, "modelSlug must be at most 100 characters").nullish(),
  from: z.date().nullish(),
  to: z.date().nullish(),
});

/** A validated filter with a concrete range [from, to). */
export interface UsageScope {
  userId: string | null;
  groupId: string | null;
  virtualAccountId: string | null;
  apiKeyId: string | null;
  modelSlug: string | null;
  from: Date;
  to: Date;
}

export function parseUsageFilter(input: unknown, ctx: Context, now = new Date()): UsageScope {
  const schema = filterSchema
    .transform((f) => {
      const to = f.to ?? now;
      return { ...f, to, from: f.from ?? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS) };
    })
    .refine((f) => f.from <= f.to, { path: ["to"], message: "to must not be before from" })
    .refine((f) => f.to.getTime() - f.from.getTime() <= MAX_RANGE_DAYS * DAY_MS, {
      path: ["from"],
      message: `the range must span at most ${MAX_RANGE_DAYS} days`,
    });
  const f = parseArguments(schema, input, "filter");
  // The scope check above already refused anyone but admins naming someone else; members default to themselves.
  const userId = f.userId ?? (isOrgAdmin(ctx.caller) ? null : ctx.caller!.userId);
  return {
    userId,
    groupId: f.groupId ?? null,
    virtualAccountId: f.virtualAccountId ?? null,
    apiKeyId: f.apiKeyId ?? null,
    modelSlug: f.modelSlug ?? null,
    from: f.from,
    to: f.to,
  };
}
