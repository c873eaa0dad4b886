// Accepting an invite: public (the invitee has no key yet). The token activates the user once and yields their first key.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { issueApiKey } from "../keys/issue-api-key.ts";
import { name, parseInput } from "../validation.ts";
import { hashInviteToken } from "./invite-token.ts";
import { type AcceptedInvite, AcceptedInviteRef } from "./invite-type.ts";

const AcceptInviteInput = builder.inputType("AcceptInviteInput", {
  fields: (t) => ({
    token: t.string({ required: true, description: "The token from the invite link." }),
    name: t.string({ required: false, description: "Your name; omit to keep the one the invite gave (the part of the email before @)." }),
  }),
});

const acceptSchema = z.object({
  token: z.string().trim().min(1, "token must not be empty").max(200, "token is too long"),
  name: name("name").nullish(),
});

builder.mutationFields((t) => ({
  acceptInvite: t.field({
    type: AcceptedInviteRef,
    errors: mutationErrors,
    description: "Activates the invited user and returns their first API key (shown once). Needs no API key; each link works once.",
    skipTypeScopes: true,
    args: { input: t.arg({ type: AcceptInviteInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = parseInput(acceptSchema, args.input);
      const tokenHash = hashInviteToken(input.token);
      return commitChange<AcceptedInvite>(ctx, {
        kind: "INVITE",
        action: "invite.accept",
        targetType: "Invite",
        run: async (tx) => {
          const now = new Date();
          const invite = await tx.invite.findUnique({ where: { tokenHash }, include: { user: true } });
          if (!invite || !invite.user) throw new NotFoundError("Invite", "(token)");
          if (invite.acceptedAt) throw refused("this invite was already accepted; sign in with the key you received then");
          if (invite.expiresAt <= now) throw refused("this invite has expired; ask an administrator to invite you again");
          if (invite.user.status === "DISABLED") throw refused("this account is disabled; ask an administrator");
          // Claiming the invite with a conditional update makes two simultaneous accepts race for one row: one wins.
          const claimed = await tx.invite.updateMany({ where: { id: invite.id, acceptedAt: null }, data: { acceptedAt: now } });
          if (claimed.count === 0) throw refused("this invite was already accepted; sign in with the key you received then");
          const user = await tx.user.update({
            where: { id: invite.user.id },
            data: { status: "ACTIVE", role: invite.role, ...(input.name ? { name: input.name } : {}) },
          });
          const { key, secret } = await issueApiKey(tx, { owner: { userId: user.id }, name: "first key", scopes: ["admin", "inference"] });
          return {
            result: { email: user.email, name: user.name, role: user.role, secret },
            targetId: invite.id,
            before: { status: invite.user.status },
            after: { userId: user.id, email: user.email, status: user.status, role: user.role, keyPrefix: key.prefix },
          };
        },
      });
    },
  }),
}));

function refused(message: string): ValidationError {
  return new ValidationError([{ path: "token", message }]);
}
