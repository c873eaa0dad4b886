// Turning a user off and on: a disabled user loses access, but their groups, grants and keys are kept for their return.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { findUserOrThrow } from "../lookups.ts";
import { parseInput, uuid } from "../validation.ts";
import { refuseOwnerChangeByNonOwner, refuseToRemoveLastOwner } from "./last-owner-guard.ts";

const statusChanges = [
  {
    field: "disableUser",
    status: "DISABLED",
    action: "user.disable",
    description:
      "Sets the user's status to DISABLED; disabling a disabled user is allowed. Only an OWNER may disable an OWNER; the last active OWNER cannot be disabled.",
  },
  {
    field: "enableUser",
    status: "ACTIVE",
    action: "user.enable",
    description: "Sets the user's status to ACTIVE; enabling an active user is allowed. Only an OWNER may enable an OWNER.",
  },
] as const;

builder.mutationFields((t) =>
  Object.fromEntries(
    statusChanges.map(({ field, status, action, description }) => [
      field,
      t.prismaField({
        type: "User",
        errors: mutationErrors,
        description,
        authScopes: { orgAdmin: true },
        args: { id: t.arg.id({ required: true }) },
        resolve: async (query, _root, args, ctx) => {
          const { id } = parseInput(z.object({ id: uuid("id") }), args);
          return commitChange(ctx, {
            kind: "USER",
            action,
            targetType: "User",
            run: async (tx) => {
              const before = await findUserOrThrow(tx, id);
              refuseOwnerChangeByNonOwner(ctx.caller, before.role, null);
              await refuseToRemoveLastOwner(tx, before, { role: before.role, status });
              const user = await tx.user.update({ ...query, where: { id }, data: { status } });
              return { result: user, targetId: id, before: { status: before.status }, after: { status } };
            },
          });
        },
      }),
    ]),
  ),
);
