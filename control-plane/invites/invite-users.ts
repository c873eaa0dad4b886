// Inviting people by email: creates (or re-invites) INVITED users with a role and a single-use link each.
// Invites grant nothing: models and providers are assigned separately once the user exists.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import type { OrgRole } from "../db/generated/prisma/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { OrgRoleEnum, orgRoles } from "../users/user-type.ts";
import { email, parseInput } from "../validation.ts";
import { sendInviteMails } from "./invite-mail.ts";
import { inviteAcceptUrl, mintInviteToken } from "./invite-token.ts";
import { type CreatedInvite, InviteUsersResultRef } from "./invite-type.ts";

const MAX_EMAILS = 100;

const InviteUsersInput = builder.inputType("InviteUsersInput", {
  fields: (t) => ({
    emails: t.stringList({ required: true, description: `1–${MAX_EMAILS} addresses; trimmed, lowercased, duplicates collapsed.` }),
    role: t.field({ type: OrgRoleEnum, required: false, defaultValue: "MEMBER", description: "Only an OWNER may invite OWNERs." }),
  }),
});

const inviteSchema = z.object({
  emails: z
    .array(email)
    .min(1, "emails must not be empty")
    .max(MAX_EMAILS, `at most ${MAX_EMAILS} emails at once`)
    .transform((list) => [...new Set(list)]),
  role: z.enum(orgRoles).nullish().transform((v) => v ?? "MEMBER"),
});

builder.mutationFields((t) => ({
  inviteUsers: t.field({
    type: InviteUsersResultRef,
    errors: mutationErrors,
    description:
      "Invites people by email. New addresses become INVITED users; an address with a pending invite gets a fresh one (the old link stops working). " +
      "Existing ACTIVE or DISABLED users are refused with CONFLICT and nothing is created. Links are mailed when SMTP_URL is set, otherwise returned.",
    // Admins invite; only an owner may bring in another owner, as only an owner could promote one.
    authScopes: (_root, args) => (args.input.role === "OWNER" ? { owner: true } : { orgAdmin: true }),
    args: { input: t.arg({ type: InviteUsersInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = parseInput(inviteSchema, args.input);
      const issued = await commitChange(ctx, {
        kind: "INVITE",
        action: "invite.create",
        targetType: "Invite",
        run: async (tx) => {
          const invites = await createInvites(tx, input.emails, input.role, ctx.config.INVITE_TTL_HOURS);
          return {
            result: invites,
            targetId: invites[0]!.invite.id,
            // Never the tokens: the audit log must not hold a way in.
            after: { emails: input.emails, role: input.role, inviteIds: invites.map((i) => i.invite.id) },
          };
        },
      });
      const links = issued.map(({ invite, token }) => ({ to: invite.email, acceptUrl: inviteAcceptUrl(ctx.config, token) }));
      const smtpUrl = ctx.config.SMTP_URL;
      // Mailed after the commit: a failed send leaves the invite in place, and the link goes back to the admin instead.
      const mailErrors = smtpUrl ? await sendInviteMails({ ...ctx.config, SMTP_URL: smtpUrl }, links) : null;
      const invites: CreatedInvite[] = issued.map(({ invite }, i) => {
        const mailError = mailErrors ? mailErrors[i]! : null;
        const mailed = mailErrors !== null && mailError === null;
        return { invite, acceptUrl: mailed ? null : links[i]!.acceptUrl, mailError };
      });
      return { invites };
    },
  }),
}));

async function createInvites(tx: Tx, emails: string[], role: OrgRole, ttlHours: number) {
  const now = new Date();
  const existing = await tx.user.findMany({
    where: { email: { in: emails, mode: "insensitive" } },
    select: { id: true, email: true, status: true },
  });
  const members = existing.filter((u) => u.status !== "INVITED").map((u) => u.email);
  if (members.length > 0) {
    throw new ConflictError(`already ${members.length === 1 ? "a member" : "members"}: ${members.join(", ")}`, "emails");
  }
  const invitedIds = existing.map((u) => u.id);
  // A re-invite replaces the earlier link and takes the role it was given now.
  await tx.invite.updateMany({ where: { userId: { in: invitedIds }, acceptedAt: null, expiresAt: { gt: now } }, data: { expiresAt: now } });
  await tx.user.updateMany({ where: { id: { in: invitedIds } }, data: { role } });
  const known = new Set(existing.map((u) => u.email.toLowerCase()));
  const created = await tx.user.createManyAndReturn({
    data: emails.filter((e) => !known.has(e)).map((e) => ({ email: e, name: e.split("@")[0]!, role, status: "INVITED" as const })),
    select: { id: true, email: true },
  });
  const userIds = new Map([...existing, ...created].map((u) => [u.email.toLowerCase(), u.id]));
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000);
  const tokens = emails.map((e) => ({ email: e, ...mintInviteToken() }));
  const invites = await tx.invite.createManyAndReturn({
    data: tokens.map(({ email: e, tokenHash }) => ({ email: e, role, tokenHash, userId: userIds.get(e)!, expiresAt })),
  });
  const byEmail = new Map(invites.map((invite) => [invite.email, invite]));
  return tokens.map(({ email: e, token }) => ({ invite: byEmail.get(e)!, token }));
}
