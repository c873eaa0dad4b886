// Ending keys: revoking (immediate for new requests) and rotating (a new secret with the same settings,
// the old key working on for an optional grace period so clients can switch without downtime).
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import { mutationErrors } from "../error-types.ts";
import { ValidationError } from "../errors.ts";
import { parseInput, uuid } from "../validation.ts";
import { RotateApiKeyInput, rotateSchema } from "./api-key-inputs.ts";
import { CreatedApiKeyRef, storedScopes } from "./api-key-type.ts";
import { createdKeyQuery } from "./api-key-mutations.ts";
import { issueApiKey } from "./issue-api-key.ts";
import { manageKeyScopes } from "./key-authorization.ts";
import { budgetValues, findApiKeyOrThrow, keySnapshot, limitValues } from "./key-settings.ts";

builder.mutationFields((t) => ({
  revokeApiKey: t.prismaField({
    type: "ApiKey",
    errors: mutationErrors,
    description: "Revokes a key: new requests with it are refused at once. Revoking a revoked key keeps its first revocation time.",
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args, ctx) => manageKeyScopes(ctx, args.id),
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "API_KEY",
        action: "apiKey.revoke",
        targetType: "ApiKey",
        run: async (tx) => {
          const before = await findApiKeyOrThrow(tx, id);
          const revokedAt = before.revokedAt ?? new Date();
          const key = await tx.apiKey.update({ ...query, where: { id }, data: { revokedAt } });
          return { result: key, targetId: id, before: keySnapshot(before), after: { prefix: before.prefix, revokedAt } };
        },
      });
    },
  }),

  rotateApiKey: t.field({
    type: CreatedApiKeyRef,
    errors: mutationErrors,
    description:
      "Issues a new key with the same owner, name, scopes, models, limit and budgets (and, for an expiring key, the same lifetime " +
      "from now) and returns its secret once. The old key works on for gracePeriodSeconds (never past its own expiry), or is revoked at once for 0.",
    args: { input: t.arg({ type: RotateApiKeyInput, required: true }) },
    authScopes: (_root, args, ctx) => manageKeyScopes(ctx, args.input.id),
    resolve: async (_root, args, ctx, info) => {
      const { id, gracePeriodSeconds } = parseInput(rotateSchema, args.input);
      return commitChange(ctx, {
        kind: "API_KEY",
        action: "apiKey.rotate",
        targetType: "ApiKey",
        run: async (tx) => {
          const old = await findApiKeyOrThrow(tx, id);
          if (old.revokedAt) throw new ValidationError([{ path: "id", message: "a revoked key cannot be rotated; create a new key instead" }]);
          const now = new Date();
          const graceEnd = new Date(now.getTime() + gracePeriodSeconds * 1000);
          const retire =
            gracePeriodSeconds === 0 ? { revokedAt: now } : { expiresAt: old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd };
          await tx.apiKey.update({ where: { id }, data: retire, select: { id: true } });
          const { key, secret } = await issueApiKey(tx, {
            owner: old.userId ? { userId: old.userId } : { virtualAccountId: old.virtualAccountId! },
            name: old.name,
            scopes: storedScopes(old.scopes),
            modelSlugs: old.modelSlugs,
            // An expiring key keeps its lifetime, counted from the rotation.
            expiresAt: old.expiresAt && new Date(now.getTime() + (old.expiresAt.getTime() - old.createdAt.getTime())),
            rateLimit: limitValues(old.rateLimit),
            budgets: budgetValues(old.budgets),
          });
          const created = await tx.apiKey.findUniqueOrThrow({ ...createdKeyQuery(ctx, info), where: { id: key.id } });
          return {
            result: { key: created, secret },
            targetId: id,
            before: keySnapshot(old),
            after: { prefix: old.prefix, ...retire, gracePeriodSeconds, replacedBy: { id: key.id, prefix: key.prefix } },
          };
        },
      });
    },
  }),
}));
