// Changing virtual accounts: create and edit name and description.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { findVirtualAccountOrThrow } from "../lookups.ts";
import { name, optionalText, parseInput, uuid } from "../validation.ts";

const CreateVirtualAccountInput = builder.inputType("CreateVirtualAccountInput", {
  fields: (t) => ({
    name: t.string({ required: true, description: "Unique across virtual accounts." }),
    description: t.string({ required: false }),
  }),
});

const UpdateVirtualAccountInput = builder.inputType("UpdateVirtualAccountInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, description: "Omit to keep the current name." }),
    description: t.string({ required: false, description: "Omit to keep; null or empty clears it." }),
  }),
});

const createSchema = z.object({ name: name("name"), description: optionalText() });
const updateSchema = z.object({
  id: uuid("id"),
  name: name("name").nullish(),
  description: optionalText().optional(),
});

builder.mutationFields((t) => ({
  createVirtualAccount: t.prismaField({
    type: "VirtualAccount",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: CreateVirtualAccountInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const data = parseInput(createSchema, args.input);
      return commitChange(ctx, {
        kind: "VIRTUAL_ACCOUNT",
        action: "virtualAccount.create",
        targetType: "VirtualAccount",
        run: async (tx) => {
          await requireFreeName(tx, data.name);
          const account = await tx.virtualAccount.create({ ...query, data });
          return { result: account, targetId: account.id, after: data };
        },
      });
    },
  }),

  updateVirtualAccount: t.prismaField({
    type: "VirtualAccount",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Changes the given fields; omitted fields stay as they are.",
    args: { input: t.arg({ type: UpdateVirtualAccountInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
      };
      return commitChange(ctx, {
        kind: "VIRTUAL_ACCOUNT",
        action: "virtualAccount.update",
        targetType: "VirtualAccount",
        run: async (tx) => {
          const before = await findVirtualAccountOrThrow(tx, id);
          if (data.name && data.name !== before.name) await requireFreeName(tx, data.name);
          const account = await tx.virtualAccount.update({ ...query, where: { id }, data });
          return { result: account, targetId: id, before: { name: before.name, description: before.description }, after: data };
        },
      });
    },
  }),
}));

async function requireFreeName(tx: Tx, accountName: string): Promise<void> {
  const taken = await tx.virtualAccount.findUnique({ where: { name: accountName }, select: { id: true } });
  if (taken) throw new ConflictError(`a virtual account named ${accountName} already exists`, "name");
}
