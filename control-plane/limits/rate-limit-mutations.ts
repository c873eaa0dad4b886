// Setting and clearing the rate limit of a user, group or virtual account (one row per subject).
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";
import { mutationErrors } from "../error-types.ts";
import { changeSubject, requireSubject, SubjectInput, type SubjectRef, subjectSchema, subjectType } from "../subjects/subject.ts";
import { nonNegativeInt, parseInput } from "../validation.ts";
import { ClearResultRef } from "./clear-result.ts";

const SetRateLimitInput = builder.inputType("SetRateLimitInput", {
  description: "Omit a field to keep its current value; null removes the cap in that dimension.",
  fields: (t) => ({
    subject: t.field({ type: SubjectInput, required: true }),
    requestsPerMinute: t.int({ required: false }),
    requestsPerSecond: t.int({ required: false, description: "A burst cap over a sliding second (any 1000 ms)." }),
    tokensPerMinute: t.int({ required: false }),
    concurrentRequests: t.int({ required: false }),
  }),
});

// nullable().optional() keeps omitted (unchanged) apart from null (no cap).
const setSchema = z.object({
  subject: subjectSchema,
  requestsPerMinute: nonNegativeInt("requestsPerMinute").nullable().optional(),
  requestsPerSecond: nonNegativeInt("requestsPerSecond").nullable().optional(),
  tokensPerMinute: nonNegativeInt("tokensPerMinute").nullable().optional(),
  concurrentRequests: nonNegativeInt("concurrentRequests").nullable().optional(),
});

builder.mutationFields((t) => ({
  setRateLimit: t.prismaField({
    type: "RateLimit",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Creates or changes the subject's rate limit. Returns the limit as it is now.",
    args: { input: t.arg({ type: SetRateLimitInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { subject, ...input } = parseInput(setSchema, args.input);
      const data = {
        ...(input.requestsPerMinute !== undefined ? { requestsPerMinute: input.requestsPerMinute } : {}),
        ...(input.requestsPerSecond !== undefined ? { requestsPerSecond: input.requestsPerSecond } : {}),
        ...(input.tokensPerMinute !== undefined ? { tokensPerMinute: input.tokensPerMinute } : {}),
        ...(input.concurrentRequests !== undefined ? { concurrentRequests: input.concurrentRequests } : {}),
      };
      return commitChange(ctx, {
        kind: "LIMIT",
        action: "rateLimit.set",
        // A subject has at most one limit row, so the audit trail hangs off the subject itself.
        targetType: subjectType(subject),
        run: async (tx) => {
          const label = await requireSubject(tx, subject);
          const where = rateLimitKey(subject);
          const before = await tx.rateLimit.findUnique({ where });
          const limit = await tx.rateLimit.upsert({ ...query, where, create: { ...subject, ...data }, update: data });
          const after = { ...limitValues(before ?? noLimit), ...data, subject: label };
          // Only what this change wrote: `before` may be stale under a concurrent change of another dimension.
          const detail = { caps: { subject: changeSubject(label), limits: data } };
          return { result: limit, targetId: label.id, before: before && limitValues(before), after, detail };
        },
      });
    },
  }),

  clearRateLimit: t.field({
    type: ClearResultRef,
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Removes the subject's rate limit: no caps of its own any more (group limits still apply to members).",
    args: { subject: t.arg({ type: SubjectInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const { subject } = parseInput(z.object({ subject: subjectSchema }), args);
      return commitChange(ctx, {
        kind: "LIMIT",
        action: "rateLimit.clear",
        targetType: subjectType(subject),
        run: async (tx) => {
          const label = await requireSubject(tx, subject);
          const before = await tx.rateLimit.findUnique({ where: rateLimitKey(subject) });
          if (before) await tx.rateLimit.delete({ where: { id: before.id }, select: { id: true } });
          return { result: { cleared: before !== null }, targetId: label.id, before: before && limitValues(before), after: { subject: label } };
        },
      });
    },
  }),
}));

function rateLimitKey(subject: SubjectRef): Prisma.RateLimitWhereUniqueInput {
  if (subject.userId) return { userId: subject.userId };
  if (subject.groupId) return { groupId: subject.groupId };
  return { virtualAccountId: subject.virtualAccountId! };
}

const noLimit = { requestsPerMinute: null, requestsPerSecond: null, tokensPerMinute: null, concurrentRequests: null };

function limitValues(l: Record<keyof typeof noLimit, number | null>) {
  return { requestsPerMinute: l.requestsPerMinute, requestsPerSecond: l.requestsPerSecond, tokensPerMinute: l.tokensPerMinute, concurrentRequests: l.concurrentRequests };
}
