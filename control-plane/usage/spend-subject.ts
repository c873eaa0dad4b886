// Whose spend is asked for (a user, group, virtual account or key), its validation, and who may ask.
import { z } from "zod";
import { builder } from "../builder.ts";
import type { Context } from "../context.ts";
import { manageKeyScopes } from "../keys/key-authorization.ts";
import { uuid } from "../validation.ts";
import type { SpendSubject } from "./spend-summary.ts";

export const SpendSubjectInput = builder.inputType("SpendSubjectInput", {
  description: "Exactly one of userId, groupId, virtualAccountId, apiKeyId.",
  fields: (t) => ({
    userId: t.id({ required: false }),
    groupId: t.id({ required: false }),
    virtualAccountId: t.id({ required: false }),
    apiKeyId: t.id({ required: false }),
  }),
});

interface SpendSubjectArgs {
  userId?: string | number | null;
  groupId?: string | number | null;
  virtualAccountId?: string | number | null;
  apiKeyId?: string | number | null;
}

export const spendSubjectSchema = z
  .object({
    userId: uuid("subject.userId").nullish(),
    groupId: uuid("subject.groupId").nullish(),
    virtualAccountId: uuid("subject.virtualAccountId").nullish(),
    apiKeyId: uuid("subject.apiKeyId").nullish(),
  })
  .refine((s) => [s.userId, s.groupId, s.virtualAccountId, s.apiKeyId].filter(Boolean).length === 1, {
    message: "give exactly one of userId, groupId, virtualAccountId, apiKeyId",
  })
  .transform((s): SpendSubject => {
    if (s.userId) return { userId: s.userId };
    if (s.groupId) return { groupId: s.groupId };
    if (s.virtualAccountId) return { virtualAccountId: s.virtualAccountId };
    return { apiKeyId: s.apiKeyId! };
  });

/** Org admins any subject; anyone else their own spend or one of their own keys'. Ambiguous subjects are for admins (who get VALIDATION). */
export async function spendScopes(ctx: Context, subject: SpendSubjectArgs) {
  const given = [subject.userId, subject.groupId, subject.virtualAccountId, subject.apiKeyId].filter((id) => id != null);
  if (given.length !== 1) return { orgAdmin: true };
  if (subject.userId != null) return { orgAdmin: true, self: String(subject.userId) };
  if (subject.apiKeyId != null) return manageKeyScopes(ctx, subject.apiKeyId);
  return { orgAdmin: true };
}

export function describeSpendSubject(subject: SpendSubject): { entity: string; id: string } {
  if ("userId" in subject) return { entity: "User", id: subject.userId };
  if ("groupId" in subject) return { entity: "Group", id: subject.groupId };
  if ("virtualAccountId" in subject) return { entity: "VirtualAccount", id: subject.virtualAccountId };
  return { entity: "ApiKey", id: subject.apiKeyId };
}
