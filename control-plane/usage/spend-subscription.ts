// `spendChanged`: a user's or virtual account's daily spend, pushed when it changes (polled; see spend-poll.ts).
import { z } from "zod";
import { forbidden } from "../auth/authenticate.ts";
import { builder } from "../builder.ts";
import { uuid } from "../validation.ts";
import { parseArguments } from "../validation.ts";
import { subjectNotFound } from "./subject-not-found.ts";
import { pollDailySpend, REVOKED } from "./spend-poll.ts";
import { describeSpendSubject } from "./spend-subject.ts";
import { type SpendSubject, SpendSummaryRef, spendSummary } from "./spend-summary.ts";

const argsSchema = z
  .object({
    userId: uuid("userId").nullish(),
    virtualAccountId: uuid("virtualAccountId").nullish(),
    intervalSeconds: z.number().int("intervalSeconds must be a whole number").min(1, "intervalSeconds must be 1–60").max(60, "intervalSeconds must be 1–60"),
  })
  .refine((a) => Boolean(a.userId) !== Boolean(a.virtualAccountId), { message: "give exactly one of userId, virtualAccountId" })
  .transform((a) => ({
    subject: (a.userId ? { userId: a.userId } : { virtualAccountId: a.virtualAccountId! }) as SpendSubject,
    intervalMs: a.intervalSeconds * 1000,
  }));

builder.subscriptionFields((t) => ({
  spendChanged: t.field({
    type: SpendSummaryRef,
    description:
      "The DAILY spend of one user or virtual account: the current value at once, then a new value whenever spent, cap " +
      "or the day changes, checked every `intervalSeconds` (1–60). Org admins may watch anyone, other users themselves. " +
      "Ends with FORBIDDEN once the subscriber's key is revoked or expired, the user disabled, or no longer allowed.",
    args: {
      userId: t.arg.id({ required: false }),
      virtualAccountId: t.arg.id({ required: false }),
      intervalSeconds: t.arg.int({ required: false, defaultValue: 5 }),
    },
    authScopes: (_root, args) =>
      args.userId != null && args.virtualAccountId == null ? { orgAdmin: true, self: String(args.userId) } : { orgAdmin: true },
    subscribe: async (_root, args, ctx) => {
      const { subject, intervalMs } = parseArguments(argsSchema, { ...args, intervalSeconds: args.intervalSeconds ?? 5 }, "");
      // Loaded here so an unknown subject is refused when subscribing rather than ending a stream that never started.
      const first = await spendSummary(ctx.prisma, subject, "DAILY");
      if (!first) {
        const { entity, id } = describeSpendSubject(subject);
        throw subjectNotFound(entity, id);
      }
      return pollDailySpend(ctx, subject, first, intervalMs);
    },
    resolve: (item) => {
      if (item === REVOKED) throw forbidden("you are no longer allowed to watch this spend");
      return item;
    },
  }),
}));
