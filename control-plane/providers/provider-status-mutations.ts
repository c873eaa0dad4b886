// Turning a provider on and off: the data plane skips inactive providers' routes (DESIGN rule 3).
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { findProviderOrThrow } from "../lookups.ts";
import { parseInput, uuid } from "../validation.ts";

const statusChanges = [
  { field: "activateProvider", status: "ACTIVE", action: "provider.activate" },
  { field: "deactivateProvider", status: "INACTIVE", action: "provider.deactivate" },
] as const;

builder.mutationFields((t) =>
  Object.fromEntries(
    statusChanges.map(({ field, status, action }) => [
      field,
      t.prismaField({
        type: "Provider",
        errors: mutationErrors,
        description: `Sets the provider's status to ${status}; doing so when it already is changes nothing but is still audited.`,
        authScopes: (_root, args) => ({ orgAdmin: true, providerManager: args.id }),
        args: { id: t.arg.id({ required: true }) },
        resolve: async (query, _root, args, ctx) => {
          const { id } = parseInput(z.object({ id: uuid("id") }), args);
          return commitChange(ctx, {
            kind: "PROVIDER",
            action,
            targetType: "Provider",
            run: async (tx) => {
              const before = await findProviderOrThrow(tx, id);
              const provider = await tx.provider.update({ ...query, where: { id }, data: { status } });
              return { result: provider, targetId: id, before: { status: before.status }, after: { status } };
            },
          });
        },
      }),
    ]),
  ),
);
