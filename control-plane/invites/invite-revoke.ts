// Withdrawing a pending invite: its link stops working at once; the INVITED user stays until re-invited or removed.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { parseInput, uuid } from "../validation.ts";

builder.mutationFields((t) => ({
  revokeInvite: t.prismaField({
    type: "Invite",
    errors: mutationErrors,
    description: "Expires a pending invite now; revoking an expired invite changes nothing. Accepted invites cannot be revoked.",
    authScopes: { orgAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "INVITE",
        action: "invite.revoke",
        targetType: "Invite",
        run: async (tx) => {
          const before = await tx.invite.findUnique({ where: { id } });
          if (!before) throw new NotFoundError("Invite", id);
          if (before.acceptedAt) throw new ValidationError([{ path: "id", message: "this invite was already accepted; disable the user instead" }]);
          const now = new Date();
          const expiresAt = before.expiresAt < now ? before.expiresAt : now;
          const invite = await tx.invite.update({ ...query, where: { id }, data: { expiresAt } });
          return { result: invite, targetId: id, before: { expiresAt: before.expiresAt }, after: { email: before.email, expiresAt } };
        },
      });
    },
  }),
}));
