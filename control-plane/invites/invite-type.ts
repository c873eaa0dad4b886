// The Invite type and the results of inviting and accepting; an invite's status is derived from its timestamps.
import { builder } from "../builder.ts";
import type { Invite, OrgRole, Prisma } from "../db/generated/prisma/client.ts";
import { OrgRoleEnum } from "../users/user-type.ts";

export const inviteStatuses = ["PENDING", "ACCEPTED", "EXPIRED"] as const;
export type InviteStatus = (typeof inviteStatuses)[number];
export const InviteStatusEnum = builder.enumType("InviteStatus", { values: inviteStatuses });

export function inviteStatus(invite: Pick<Invite, "acceptedAt" | "expiresAt">, now = new Date()): InviteStatus {
  if (invite.acceptedAt) return "ACCEPTED";
  return invite.expiresAt > now ? "PENDING" : "EXPIRED";
}

/** The rows in a given status, as a filter; the mirror of inviteStatus. */
export function inviteStatusWhere(status: InviteStatus, now = new Date()): Prisma.InviteWhereInput {
  if (status === "ACCEPTED") return { acceptedAt: { not: null } };
  if (status === "PENDING") return { acceptedAt: null, expiresAt: { gt: now } };
  return { acceptedAt: null, expiresAt: { lte: now } };
}

export const InviteRef = builder.prismaObject("Invite", {
  // Invites carry who is joining with which role: only administrators see them.
  authScopes: { orgAdmin: true },
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email"),
    role: t.expose("role", { type: OrgRoleEnum }),
    status: t.field({ type: InviteStatusEnum, resolve: (invite) => inviteStatus(invite) }),
    expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    acceptedAt: t.expose("acceptedAt", { type: "DateTime", nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    user: t.relation("user", { nullable: true, description: "The invited user; null only if the user was deleted." }),
  }),
});

export interface CreatedInvite {
  invite: Invite;
  /** The link to pass on yourself; null when it was mailed. */
  acceptUrl: string | null;
  mailError: string | null;
}

export const CreatedInviteRef = builder.objectRef<CreatedInvite>("CreatedInvite").implement({
  fields: (t) => ({
    invite: t.field({ type: InviteRef, resolve: (c) => c.invite }),
    acceptUrl: t.exposeString("acceptUrl", {
      nullable: true,
      description: "The link to accept the invite, shown once: set when mail is not configured or sending failed, null when it was mailed.",
    }),
    mailError: t.exposeString("mailError", { nullable: true, description: "Why mailing the link failed; the invite stands, pass acceptUrl on yourself." }),
  }),
});

export const InviteUsersResultRef = builder.objectRef<{ invites: CreatedInvite[] }>("InviteUsersResult").implement({
  fields: (t) => ({ invites: t.field({ type: [CreatedInviteRef], resolve: (r) => r.invites }) }),
});

export interface AcceptedInvite {
  email: string;
  name: string;
  role: OrgRole;
  secret: string;
}

// Not the User object: the accepting caller is anonymous, and User is visible only to admins and the user's own keys.
export const AcceptedInviteRef = builder.objectRef<AcceptedInvite>("AcceptedInvite").implement({
  fields: (t) => ({
    email: t.exposeString("email"),
    name: t.exposeString("name"),
    role: t.expose("role", { type: OrgRoleEnum }),
    secret: t.exposeString("secret", { description: "The new user's first API key (scopes admin and inference), shown once." }),
  }),
});
