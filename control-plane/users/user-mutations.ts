// Changing users: create and edit name, role and status.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { findUserOrThrow } from "../lookups.ts";
import { email, name, parseInput, uuid } from "../validation.ts";
import { refuseOwnerChangeByNonOwner, refuseToRemoveLastOwner } from "./last-owner-guard.ts";
import { OrgRoleEnum, orgRoles, UserStatusEnum, userStatuses } from "./user-type.ts";

const CreateUserInput = builder.inputType("CreateUserInput", {
  fields: (t) => ({
    email: t.string({ required: true, description: "Stored in lowercase; unique across users." }),
    name: t.string({ required: true }),
    role: t.field({ type: OrgRoleEnum, required: false, defaultValue: "MEMBER" }),
    status: t.field({ type: UserStatusEnum, required: false, defaultValue: "ACTIVE" }),
  }),
});

const UpdateUserInput = builder.inputType("UpdateUserInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, description: "Omit to keep." }),
    role: t.field({ type: OrgRoleEnum, required: false, description: "Omit to keep. The last active OWNER cannot be demoted." }),
    status: t.field({ type: UserStatusEnum, required: false, description: "Omit to keep. The last active OWNER cannot be deactivated." }),
  }),
});

const createSchema = z.object({
  email,
  name: name("name"),
  role: z.enum(orgRoles).nullish().transform((v) => v ?? "MEMBER"),
  status: z.enum(userStatuses).nullish().transform((v) => v ?? "ACTIVE"),
});
const updateSchema = z.object({
  id: uuid("id"),
  name: name("name").nullish(),
  role: z.enum(orgRoles).nullish(),
  status: z.enum(userStatuses).nullish(),
});

builder.mutationFields((t) => ({
  createUser: t.prismaField({
    type: "User",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const data = parseInput(createSchema, args.input);
      refuseOwnerChangeByNonOwner(ctx.caller, null, data.role);
      return commitChange(ctx, {
        kind: "USER",
        action: "user.create",
        targetType: "User",
        run: async (tx) => {
          await requireFreeEmail(tx, data.email);
          const user = await tx.user.create({ ...query, data });
          return { result: user, targetId: user.id, after: data };
        },
      });
    },
  }),

  updateUser: t.prismaField({
    type: "User",
    errors: mutationErrors,
    description: "Changes the given fields; omitted fields stay as they are. Only an OWNER may change an OWNER or give the OWNER role.",
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.role ? { role: changes.role } : {}),
        ...(changes.status ? { status: changes.status } : {}),
      };
      return commitChange(ctx, {
        kind: "USER",
        action: "user.update",
        targetType: "User",
        run: async (tx) => {
          const before = await findUserOrThrow(tx, id);
          refuseOwnerChangeByNonOwner(ctx.caller, before.role, data.role);
          await refuseToRemoveLastOwner(tx, before, { role: data.role ?? before.role, status: data.status ?? before.status });
          const user = await tx.user.update({ ...query, where: { id }, data });
          return {
            result: user,
            targetId: id,
            before: { name: before.name, role: before.role, status: before.status },
            after: data,
          };
        },
      });
    },
  }),
}));

async function requireFreeEmail(tx: Tx, address: string): Promise<void> {
  // Case-insensitive so that a row stored before emails were normalised still counts as taken.
  const taken = await tx.user.findFirst({ where: { email: { equals: address, mode: "insensitive" } }, select: { id: true } });
  if (taken) throw new ConflictError(`a user with email ${address} already exists`, "email");
}
