// Who a grant, provider access, limit or budget is attached to: exactly one of a user, group or virtual account.
import { z } from "zod";
import { builder } from "../builder.ts";
import type { Tx } from "../db/client.ts";
import type { ChangeSubject } from "../events/change-event.ts";
import { findGroupOrThrow, findUserOrThrow, findVirtualAccountOrThrow } from "../lookups.ts";
import { uuid } from "../validation.ts";

export const SubjectInput = builder.inputType("SubjectInput", {
  description: "Exactly one of userId, groupId, virtualAccountId.",
  fields: (t) => ({
    userId: t.id({ required: false }),
    groupId: t.id({ required: false }),
    virtualAccountId: t.id({ required: false }),
  }),
});

export type SubjectRef =
  | { userId: string; groupId: null; virtualAccountId: null }
  | { userId: null; groupId: string; virtualAccountId: null }
  | { userId: null; groupId: null; virtualAccountId: string };

export const subjectSchema = z
  .object({
    userId: uuid("subject.userId").nullish(),
    groupId: uuid("subject.groupId").nullish(),
    virtualAccountId: uuid("subject.virtualAccountId").nullish(),
  })
  .refine((s) => [s.userId, s.groupId, s.virtualAccountId].filter(Boolean).length === 1, {
    message: "give exactly one of userId, groupId, virtualAccountId",
  })
  .transform((s) => ({ userId: s.userId ?? null, groupId: s.groupId ?? null, virtualAccountId: s.virtualAccountId ?? null }) as SubjectRef);

/** Throws NotFoundError when the subject does not exist; returns a label for audit and reasons. */
export async function requireSubject(tx: Tx, subject: SubjectRef): Promise<ChangeSubject & { name: string }> {
  if (subject.userId) {
    const user = await findUserOrThrow(tx, subject.userId);
    return { type: "User", id: user.id, name: user.email };
  }
  if (subject.groupId) {
    const group = await findGroupOrThrow(tx, subject.groupId);
    return { type: "Group", id: group.id, name: group.name };
  }
  const account = await findVirtualAccountOrThrow(tx, subject.virtualAccountId!);
  return { type: "VirtualAccount", id: account.id, name: account.name };
}

/** The subject as a change event names it (control-plane/events/change-event.ts). */
export function changeSubject(label: ChangeSubject): ChangeSubject {
  return { type: label.type, id: label.id };
}

/** User, Group or VirtualAccount: the audit target type of settings that hang off a subject. */
export function subjectType(subject: SubjectRef): string {
  return subject.userId ? "User" : subject.groupId ? "Group" : "VirtualAccount";
}
