// Changing model facades: create, edit (slug, display name, kind) and delete.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { findModelOrThrow } from "../lookups.ts";
import { name, parseInput, slug, uuid } from "../validation.ts";
import { ModelKindEnum, modelKinds } from "./model-type.ts";

const CreateModelInput = builder.inputType("CreateModelInput", {
  fields: (t) => ({
    slug: t.string({ required: true, description: "What clients send as `model`, e.g. chat-fast." }),
    displayName: t.string({ required: true }),
    kind: t.field({ type: ModelKindEnum, required: false, defaultValue: "CHAT" }),
  }),
});

const UpdateModelInput = builder.inputType("UpdateModelInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    slug: t.string({ required: false, description: "Omit to keep. Clients using the old slug stop reaching this model." }),
    displayName: t.string({ required: false, description: "Omit to keep." }),
    kind: t.field({ type: ModelKindEnum, required: false, description: "Omit to keep." }),
  }),
});

const createSchema = z.object({ slug, displayName: name("displayName", 200), kind: z.enum(modelKinds).nullish() });
const updateSchema = z.object({
  id: uuid("id"),
  slug: slug.nullish(),
  displayName: name("displayName", 200).nullish(),
  kind: z.enum(modelKinds).nullish(),
});

builder.mutationFields((t) => ({
  createModel: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: CreateModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(createSchema, args.input);
      const data = { ...input, kind: input.kind ?? "CHAT" };
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.create",
        targetType: "Model",
        run: async (tx) => {
          await requireFreeSlug(tx, data.slug);
          const model = await tx.model.create({ ...query, data });
          return { result: model, targetId: model.id, after: data };
        },
      });
    },
  }),

  updateModel: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Changes the given fields. A new slug also replaces the old one in API keys narrowed to this model.",
    args: { input: t.arg({ type: UpdateModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.slug ? { slug: changes.slug } : {}),
        ...(changes.displayName ? { displayName: changes.displayName } : {}),
        ...(changes.kind ? { kind: changes.kind } : {}),
      };
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.update",
        targetType: "Model",
        run: async (tx) => {
          const before = await findModelOrThrow(tx, id);
          if (data.slug && data.slug !== before.slug) {
            await requireFreeSlug(tx, data.slug);
            // Keys narrowed to this model name it by slug; without this a rename would silently cut them off.
            await tx.$executeRaw`UPDATE "ApiKey" SET "modelSlugs" = array_replace("modelSlugs", ${before.slug}, ${data.slug})
              WHERE ${before.slug} = ANY("modelSlugs")`;
          }
          const model = await tx.model.update({ ...query, where: { id }, data });
          const { slug: oldSlug, displayName, kind } = before;
          return { result: model, targetId: id, before: { slug: oldSlug, displayName, kind }, after: data };
        },
      });
    },
  }),

  deleteModel: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Deletes the model with its routes and grants. Returns the deleted model.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.delete",
        targetType: "Model",
        run: async (tx) => {
          const before = await findModelOrThrow(tx, id);
          const model = await tx.model.delete({ ...query, where: { id } });
          return { result: model, targetId: id, before: { slug: before.slug, displayName: before.displayName, kind: before.kind } };
        },
      });
    },
  }),
}));

async function requireFreeSlug(tx: Tx, modelSlug: string): Promise<void> {
  const taken = await tx.model.findUnique({ where: { slug: modelSlug }, select: { id: true } });
  if (taken) throw new ConflictError(`a model with slug ${modelSlug} already exists`, "slug");
}
