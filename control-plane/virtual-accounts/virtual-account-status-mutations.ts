// Turning a virtual account off and on: a disabled account loses access, but its grants and keys are kept.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { findVirtualAccountOrThrow } from "../lookups.ts";
import { parseInput, uuid } from "../validation.ts";

const statusChanges = [
  { field: "disableVirtualAccount", status: "DISABLED", action: "virtualAccount.disable" },
  { field: "enableVirtualAccount", status: "ACTIVE", action: "virtualAccount.enable" },
] as const;

builder.mutationFields((t) =>
  Object.fromEntries(
    statusChanges.map(({ field, status, action }) => [
      field,
      t.prismaField({
        type: "VirtualAccount",
        errors: mutationErrors,
        authScopes: { orgAdmin: true },
        description: `Sets the virtual account's status to ${status}; doing so when it already is changes nothing but is still audited.`,
        args: { id: t.arg.id({ required: true }) },
        resolve: async (query, _root, args, ctx) => {
          const { id } = parseInput(z.object({ id: uuid("id") }), args);
          return commitChange(ctx, {
            kind: "VIRTUAL_ACCOUNT",
            action,
            targetType: "VirtualAccount",
            run: async (tx) => {
              const before = await findVirtualAccountOrThrow(tx, id);
              const account = await tx.virtualAccount.update({ ...query, where: { id }, data: { status } });
              return { result: account, targetId: id, before: { status: before.status }, after: { status } };
            },
          });
        },
      }),
    ]),
  ),
);
