// Creating and changing keys. The secret exists only in the answer to createApiKey; the database and the
// audit log keep the hash and the prefix.
import { queryFromInfo } from "@pothos/plugin-prisma";
import type { GraphQLResolveInfo } from "graphql";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Context } from "../context.ts";
import { mutationErrors } from "../error-types.ts";
import { ValidationError } from "../errors.ts";
import { findUserOrThrow, findVirtualAccountOrThrow } from "../lookups.ts";
import { parseInput } from "../validation.ts";
import { CreateApiKeyInput, createSchema, UpdateApiKeyInput, updateSchema } from "./api-key-inputs.ts";
import { CreatedApiKeyRef } from "./api-key-type.ts";
import { type IssueKeyInput, issueApiKey } from "./issue-api-key.ts";
import { keyOwnerScopes, manageKeyScopes } from "./key-authorization.ts";
import { findApiKeyOrThrow, hasAnyCap, keySnapshot, replaceKeyBudgets, replaceKeyRateLimit, requireKnownModels } from "./key-settings.ts";

/** The selection of `apiKey` inside a CreatedApiKey answer, so the new key is read back in one query. */
export function createdKeyQuery(ctx: Context, info: GraphQLResolveInfo) {
  return queryFromInfo({ context: ctx, info, typeName: "ApiKey", path: [{ name: "apiKey", type: "CreatedApiKey" }] });
}

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKeyRef,
    errors: mutationErrors,
    description: "Creates a key and returns its secret, shown only this once. A key never has more access than its owner.",
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    authScopes: (_root, args) => keyOwnerScopes(args.input),
    resolve: async (_root, args, ctx, info) => {
      const { userId, virtualAccountId, ...input } = parseInput(createSchema, args.input);
      const owner: IssueKeyInput["owner"] = virtualAccountId ? { virtualAccountId } : { userId: userId ?? ctx.caller!.userId };
      return commitChange(ctx, {
        kind: "API_KEY",
        action: "apiKey.create",
        targetType: "ApiKey",
        run: async (tx) => {
          if ("userId" in owner) await findUserOrThrow(tx, owner.userId);
          else await findVirtualAccountOrThrow(tx, owner.virtualAccountId);
          await requireKnownModels(tx, input.modelSlugs);
          const rateLimit = hasAnyCap(input.rateLimit) ? input.rateLimit : null;
          const { key, secret } = await issueApiKey(tx, { owner, ...input, rateLimit });
          const created = await tx.apiKey.findUniqueOrThrow({ ...createdKeyQuery(ctx, info), where: { id: key.id } });
          return { result: { key: created, secret }, targetId: key.id, after: keySnapshot(await findApiKeyOrThrow(tx, key.id)) };
        },
      });
    },
  }),

  updateApiKey: t.prismaField({
    type: "ApiKey",
    errors: mutationErrors,
    description: "Renames a key or changes its narrowing (models, expiry, own limit and budgets). Scopes and owner never change.",
    args: { input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    authScopes: (_root, args, ctx) => manageKeyScopes(ctx, args.input.id),
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.modelSlugs !== undefined ? { modelSlugs: changes.modelSlugs ?? [] } : {}),
        ...(changes.expiresAt !== undefined ? { expiresAt: changes.expiresAt } : {}),
      };
      return commitChange(ctx, {
        kind: "API_KEY",
        action: "apiKey.update",
        targetType: "ApiKey",
        run: async (tx) => {
          const before = await findApiKeyOrThrow(tx, id);
          if (before.revokedAt) throw new ValidationError([{ path: "id", message: "a revoked key cannot be changed" }]);
          if (data.modelSlugs) await requireKnownModels(tx, data.modelSlugs);
          if (changes.rateLimit !== undefined) await replaceKeyRateLimit(tx, id, changes.rateLimit);
          if (changes.budgets !== undefined) await replaceKeyBudgets(tx, id, changes.budgets ?? []);
          await tx.apiKey.update({ where: { id }, data, select: { id: true } });
          const after = await findApiKeyOrThrow(tx, id);
          const key = await tx.apiKey.findUniqueOrThrow({ ...query, where: { id } });
          return { result: key, targetId: id, before: keySnapshot(before), after: keySnapshot(after) };
        },
      });
    },
  }),
}));
