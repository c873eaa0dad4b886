// Giving a user, group or virtual account access to a provider (USER or MANAGER), and taking it away.
import { z } from "zod";
import { isOrgAdmin } from "../auth/caller.ts";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { NotFoundError } from "../errors.ts";
import { findProviderOrThrow } from "../lookups.ts";
import { changeSubject, requireSubject, SubjectInput, type SubjectRef, subjectSchema } from "../subjects/subject.ts";
import { isUuid, parseInput, uuid } from "../validation.ts";
import { AccessLevelEnum } from "./provider-access-type.ts";

const SetProviderAccessInput = builder.inputType("SetProviderAccessInput", {
  fields: (t) => ({
    providerId: t.id({ required: true }),
    subject: t.field({ type: SubjectInput, required: true }),
    level: t.field({ type: AccessLevelEnum, required: false, defaultValue: "USER" }),
  }),
});

const setSchema = z.object({
  providerId: uuid("providerId"),
  subject: subjectSchema,
  level: z.enum(["USER", "MANAGER"]).nullish().transform((v) => v ?? "USER"),
});

builder.mutationFields((t) => ({
  setProviderAccess: t.prismaField({
    type: "ProviderAccess",
    errors: mutationErrors,
    description:
      "Gives the subject access to the provider at the given level; if it already has access, changes the level. " +
      "Admins and the provider's MANAGERs may do this.",
    authScopes: (_root, args) => ({ orgAdmin: true, providerManager: args.input.providerId }),
    args: { input: t.arg({ type: SetProviderAccessInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { providerId, subject, level } = parseInput(setSchema, args.input);
      return commitChange(ctx, {
        kind: "PROVIDER_ACCESS",
        action: "providerAccess.set",
        targetType: "ProviderAccess",
        run: async (tx) => {
          const provider = await findProviderOrThrow(tx, providerId);
          const label = await requireSubject(tx, subject);
          const existing = await tx.providerAccess.findFirst({ where: { providerId, ...subject }, select: { id: true, level: true } });
          const access = existing
            ? await tx.providerAccess.update({ ...query, where: { id: existing.id }, data: { level } })
            : await tx.providerAccess.create({ ...query, data: { providerId, ...subject, level } });
          const view = { providerId, provider: provider.name, subject: label };
          return {
            result: access,
            targetId: access.id,
            before: existing ? { ...view, level: existing.level } : undefined,
            after: { ...view, level },
          };
        },
      });
    },
  }),

  removeProviderAccess: t.prismaField({
    type: "ProviderAccess",
    errors: mutationErrors,
    description: "Takes away a subject's access to a provider. Returns the removed access. Admins and the provider's MANAGERs may do this.",
    authScopes: async (_root, args, ctx) => {
      // An unknown id reaches the resolver's NOT_FOUND only for admins; anyone else is refused, so ids cannot be probed.
      if (isOrgAdmin(ctx.caller) || !isUuid(args.id)) return { orgAdmin: true };
      const access = await ctx.prisma.providerAccess.findUnique({ where: { id: args.id }, select: { providerId: true } });
      return access ? { orgAdmin: true, providerManager: access.providerId } : { orgAdmin: true };
    },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "PROVIDER_ACCESS",
        action: "providerAccess.remove",
        targetType: "ProviderAccess",
        run: async (tx) => {
          const before = await accessAuditView(tx, id);
          const access = await tx.providerAccess.delete({ ...query, where: { id } });
          return { result: access, targetId: id, before, detail: { removedAccess: { subject: changeSubject(before.subject), providerId: before.providerId } } };
        },
      });
    },
  }),
}));

/** The audit snapshot of an access row; NotFoundError when it does not exist. */
async function accessAuditView(tx: Tx, id: string) {
  const access = await tx.providerAccess.findUnique({ where: { id }, include: { provider: { select: { name: true } } } });
  if (!access) throw new NotFoundError("ProviderAccess", id);
  const subject = await requireSubject(tx, {
    userId: access.userId,
    groupId: access.groupId,
    virtualAccountId: access.virtualAccountId,
  } as SubjectRef);
  return { providerId: access.providerId, provider: access.provider.name, subject, level: access.level };
}
