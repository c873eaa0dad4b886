// Granting a model facade to a user, group or virtual account, and revoking the grant.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { findModelOrThrow } from "../lookups.ts";
import { changeSubject, requireSubject, SubjectInput, type SubjectRef, subjectSchema } from "../subjects/subject.ts";
import { parseInput, uuid } from "../validation.ts";

const GrantModelInput = builder.inputType("GrantModelInput", {
  fields: (t) => ({
    modelId: t.id({ required: true }),
    subject: t.field({ type: SubjectInput, required: true }),
  }),
});

const grantSchema = z.object({ modelId: uuid("modelId"), subject: subjectSchema });

builder.mutationFields((t) => ({
  grantModel: t.prismaField({
    type: "ModelGrant",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description:
      "Grants a model to exactly one user, group or virtual account. Granting again returns the existing grant " +
      "and changes nothing (no audit event, no policy version bump).",
    args: { input: t.arg({ type: GrantModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { modelId, subject } = parseInput(grantSchema, args.input);
      const where = { modelId, ...subject };
      // Already granted: nothing changes, so there is nothing to audit or publish.
      const existing = await ctx.prisma.modelGrant.findFirst({ ...query, where });
      if (existing) return existing;
      try {
        return await commitChange(ctx, {
          kind: "GRANT",
          action: "grant.create",
          targetType: "ModelGrant",
          run: async (tx) => {
            const model = await findModelOrThrow(tx, modelId);
            const label = await requireSubject(tx, subject);
            const grant = await tx.modelGrant.create({ ...query, data: where });
            return { result: grant, targetId: grant.id, after: { modelId, slug: model.slug, subject: label } };
          },
        });
      } catch (error) {
        // A concurrent identical grant won the race: answer as if it had been there first.
        if (!(error instanceof ConflictError)) throw error;
        const winner = await ctx.prisma.modelGrant.findFirst({ ...query, where });
        if (winner) return winner;
        throw error;
      }
    },
  }),

  revokeGrant: t.prismaField({
    type: "ModelGrant",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Deletes a grant; new requests are refused at once. Returns the revoked grant.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "GRANT",
        action: "grant.revoke",
        targetType: "ModelGrant",
        run: async (tx) => {
          const before = await grantAuditView(tx, id);
          const grant = await tx.modelGrant.delete({ ...query, where: { id } });
          return { result: grant, targetId: id, before, detail: { revokedGrant: { subject: changeSubject(before.subject), modelId: before.modelId } } };
        },
      });
    },
  }),
}));

/** The audit snapshot of a grant: { modelId, slug, subject }; NotFoundError when the grant does not exist. */
async function grantAuditView(tx: Tx, id: string) {
  const grant = await tx.modelGrant.findUnique({ where: { id }, include: { model: { select: { slug: true } } } });
  if (!grant) throw new NotFoundError("ModelGrant", id);
  const subject = await requireSubject(tx, {
    userId: grant.userId,
    groupId: grant.groupId,
    virtualAccountId: grant.virtualAccountId,
  } as SubjectRef);
  return { modelId: grant.modelId, slug: grant.model.slug, subject };
}
