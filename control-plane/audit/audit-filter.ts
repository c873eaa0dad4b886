// The audit filter: its GraphQL input, its validation, and the one meaning it has for queries and subscriptions.
import { parseArguments } from "../validation.ts";
import { z } from "zod";
import { builder } from "../builder.ts";
import type { AuditEvent, Prisma } from "../db/generated/prisma/client.ts";
import { uuid } from "../validation.ts";

export const AuditFilterInput = builder.inputType("AuditFilter", {
  description: "Every given field must match (all of).",
  fields: (t) => ({
    actorId: t.id({ required: false, description: "Changes made by this user." }),
    targetType: t.string({ required: false, description: "e.g. Group, User, Model." }),
    targetId: t.id({ required: false }),
    action: t.string({ required: false, description: "Exactly this action, e.g. `group.create`." }),
    actionPrefix: t.string({ required: false, description: "Actions starting with this, e.g. `model.` or `group.members.`." }),
    from: t.field({ type: "DateTime", required: false, description: "At or after this time." }),
    to: t.field({ type: "DateTime", required: false, description: "At or before this time." }),
  }),
});

const text = (what: string, max: number) =>
  z.string().trim().min(1, `${what} must not be empty`).max(max, `${what} must be at most ${max} characters`).nullish();

const filterSchema = z
  .object({
    actorId: uuid("actorId").nullish(),
    targetType: text("targetType", 100),
    targetId: text("targetId", 200),
    action: text("action", 200),
    actionPrefix: text("actionPrefix", 200),
    from: z.date().nullish(),
    to: z.date().nullish(),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { path: ["to"], message: "to must not be before from" });

export type AuditFilter = z.output<typeof filterSchema>;

/** A bad filter is the caller's mistake: a 400 with the issues, like the typed ValidationError of mutations. */
export function parseAuditFilter(input: unknown): AuditFilter {
  return parseArguments(filterSchema, input, "filter");
}

export function auditWhere(filter: AuditFilter): Prisma.AuditEventWhereInput {
  return {
    ...(filter.actorId ? { actorId: filter.actorId } : {}),
    ...(filter.targetType ? { targetType: filter.targetType } : {}),
    ...(filter.targetId ? { targetId: filter.targetId } : {}),
    AND: [
      ...(filter.action ? [{ action: filter.action }] : []),
      ...(filter.actionPrefix ? [{ action: { startsWith: filter.actionPrefix } }] : []),
      ...(filter.from || filter.to ? [{ createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lte: filter.to } : {}) } }] : []),
    ],
  };
}

/** The same test as `auditWhere`, for events arriving live. */
export function matchesAuditFilter(filter: AuditFilter, event: AuditEvent): boolean {
  return (
    (!filter.actorId || event.actorId === filter.actorId) &&
    (!filter.targetType || event.targetType === filter.targetType) &&
    (!filter.targetId || event.targetId === filter.targetId) &&
    (!filter.action || event.action === filter.action) &&
    (!filter.actionPrefix || event.action.startsWith(filter.actionPrefix)) &&
    (!filter.from || event.createdAt >= filter.from) &&
    (!filter.to || event.createdAt <= filter.to)
  );
}
