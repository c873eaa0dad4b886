// Changing groups: create, edit, delete, and membership.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { name, optionalText, parseInput, uuid } from "../validation.ts";
import { findGroupOrThrow, requireUsers } from "../lookups.ts";

const CreateGroupInput = builder.inputType("CreateGroupInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string({ required: false }),
  }),
});

const UpdateGroupInput = builder.inputType("UpdateGroupInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, description: "Omit to keep the current name." }),
    description: t.string({ required: false, description: "Omit to keep; null or empty clears it." }),
  }),
});

const GroupMembersInput = builder.inputType("GroupMembersInput", {
  fields: (t) => ({
    groupId: t.id({ required: true }),
    userIds: t.idList({ required: true }),
  }),
});

const createSchema = z.object({ name: name("name"), description: optionalText() });
const updateSchema = z.object({
  id: uuid("id"),
  name: name("name").nullish(),
  description: optionalText().optional(),
});
const membersSchema = z.object({
  groupId: uuid("groupId"),
  userIds: z.array(uuid("userIds[]")).min(1, "userIds must not be empty").max(1000, "at most 1000 users at once"),
});

builder.mutationFields((t) => ({
  createGroup: t.prismaField({
    type: "Group",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: CreateGroupInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(createSchema, args.input);
      return commitChange(ctx, {
        kind: "GROUP",
        action: "group.create",
        targetType: "Group",
        run: async (tx) => {
          const group = await tx.group.create({ ...query, data: input });
          return { result: group, targetId: group.id, after: input };
        },
      });
    },
  }),

  updateGroup: t.prismaField({
    type: "Group",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: UpdateGroupInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
      };
      return commitChange(ctx, {
        kind: "GROUP",
        action: "group.update",
        targetType: "Group",
        run: async (tx) => {
          const before = await findGroupOrThrow(tx, id);
          const group = await tx.group.update({ ...query, where: { id }, data });
          return { result: group, targetId: id, before: { name: before.name, description: before.description }, after: data };
        },
      });
    },
  }),

  deleteGroup: t.prismaField({
    type: "Group",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Deletes the group with its memberships, grants, provider access, limits and budgets. Returns the deleted group.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "GROUP",
        action: "group.delete",
        targetType: "Group",
        run: async (tx) => {
          const before = await findGroupOrThrow(tx, id);
          const group = await tx.group.delete({ ...query, where: { id } });
          return { result: group, targetId: id, before: { name: before.name, description: before.description } };
        },
      });
    },
  }),

  addGroupMembers: t.prismaField({
    type: "Group",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Adds users to a group; users already in it are left as they are.",
    args: { input: t.arg({ type: GroupMembersInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(membersSchema, args.input);
      return commitChange(ctx, {
        kind: "MEMBERSHIP",
        action: "group.members.add",
        targetType: "Group",
        run: async (tx) => {
          await findGroupOrThrow(tx, input.groupId);
          await requireUsers(tx, input.userIds);
          await tx.groupMembership.createMany({
            data: input.userIds.map((userId) => ({ groupId: input.groupId, userId })),
            skipDuplicates: true,
          });
          const group = await tx.group.findUniqueOrThrow({ ...query, where: { id: input.groupId } });
          return { result: group, targetId: input.groupId, after: { added: input.userIds } };
        },
      });
    },
  }),

  removeGroupMembers: t.prismaField({
    type: "Group",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Removes users from a group; users not in it are ignored.",
    args: { input: t.arg({ type: GroupMembersInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(membersSchema, args.input);
      return commitChange(ctx, {
        kind: "MEMBERSHIP",
        action: "group.members.remove",
        targetType: "Group",
        run: async (tx) => {
          await findGroupOrThrow(tx, input.groupId);
          const { count } = await tx.groupMembership.deleteMany({
            where: { groupId: input.groupId, userId: { in: input.userIds } },
          });
          const group = await tx.group.findUniqueOrThrow({ ...query, where: { id: input.groupId } });
          return { result: group, targetId: input.groupId, after: { removed: input.userIds, count } };
        },
      });
    },
  }),
}));

