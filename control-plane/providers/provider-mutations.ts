// Changing providers: create, edit (including write-only credentials) and delete.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { findProviderOrThrow } from "../lookups.ts";
import { name, parseInput, uuid } from "../validation.ts";
import { credentialUpdate, sealCredentials } from "./provider-credentials.ts";
import { baseUrl, credentialSecret, providerSettings } from "./provider-inputs.ts";
import { providerKind } from "./provider-kinds.ts";
import { ProviderStatusEnum } from "./provider-type.ts";

const CreateProviderInput = builder.inputType("CreateProviderInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.string({ required: true, description: "One of `providerKinds`: openai, anthropic, azure-openai, openai-compatible." }),
    baseUrl: t.string({ required: true, description: "An http(s) URL, e.g. https://api.openai.com/v1." }),
    credentials: t.string({ required: false, description: "The API key; write-only: it is encrypted and never returned." }),
    settings: t.field({ type: "JSON", required: false, description: "A JSON object of kind-specific settings; no secrets." }),
    status: t.field({ type: ProviderStatusEnum, required: false, defaultValue: "ACTIVE" }),
  }),
});

const UpdateProviderInput = builder.inputType("UpdateProviderInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, description: "Omit to keep." }),
    kind: t.string({ required: false, description: "Omit to keep." }),
    baseUrl: t.string({ required: false, description: "Omit to keep." }),
    credentials: t.string({ required: false, description: "Omit to keep, null to clear, a string to replace." }),
    settings: t.field({ type: "JSON", required: false, description: "Omit to keep; null resets to {}; an object replaces." }),
  }),
});

const createSchema = z.object({
  name: name("name"),
  kind: providerKind,
  baseUrl,
  credentials: credentialSecret.nullish(),
  settings: providerSettings.nullish(),
  status: z.enum(["ACTIVE", "INACTIVE"]).nullish(),
});
const updateSchema = z.object({
  id: uuid("id"),
  name: name("name").nullish(),
  kind: providerKind.nullish(),
  baseUrl: baseUrl.nullish(),
  credentials: credentialSecret.nullish(),
  settings: providerSettings.nullish(),
});

builder.mutationFields((t) => ({
  createProvider: t.prismaField({
    type: "Provider",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    args: { input: t.arg({ type: CreateProviderInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { credentials, ...input } = parseInput(createSchema, args.input);
      const fields = { ...input, settings: input.settings ?? {}, status: input.status ?? "ACTIVE" };
      const sealed = credentials ? sealCredentials(ctx.cipher, credentials) : {};
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.create",
        targetType: "Provider",
        run: async (tx) => {
          await requireFreeName(tx, fields.name);
          const provider = await tx.provider.create({ ...query, data: { ...fields, ...sealed } });
          return { result: provider, targetId: provider.id, after: { ...fields, credentials: credentials ? "set" : "none" } };
        },
      });
    },
  }),

  updateProvider: t.prismaField({
    type: "Provider",
    errors: mutationErrors,
    description: "Changes the given fields. `credentials`: omitted keeps them, null clears them, a string replaces them.",
    // A MANAGER runs the provider day to day, but creating and deleting providers stays with admins.
    authScopes: (_root, args) => ({ orgAdmin: true, providerManager: args.input.id }),
    args: { input: t.arg({ type: UpdateProviderInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, credentials, ...changes } = parseInput(updateSchema, args.input);
      const fields = {
        ...(changes.name ? { name: changes.name } : {}),
        ...(changes.kind ? { kind: changes.kind } : {}),
        ...(changes.baseUrl ? { baseUrl: changes.baseUrl } : {}),
        ...(changes.settings !== undefined ? { settings: changes.settings ?? {} } : {}),
      };
      const secret = credentialUpdate(ctx.cipher, credentials);
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.update",
        targetType: "Provider",
        run: async (tx) => {
          const before = await findProviderOrThrow(tx, id);
          if (fields.name && fields.name !== before.name) await requireFreeName(tx, fields.name);
          const provider = await tx.provider.update({ ...query, where: { id }, data: { ...fields, ...secret.columns } });
          return { result: provider, targetId: id, before: auditView(before), after: { ...fields, credentials: secret.change } };
        },
      });
    },
  }),

  deleteProvider: t.prismaField({
    type: "Provider",
    errors: mutationErrors,
    description:
      "Deletes the provider with its provider models, the model routes to them and all access to it. Returns the deleted provider.",
    authScopes: { orgAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.delete",
        targetType: "Provider",
        run: async (tx) => {
          const before = await findProviderOrThrow(tx, id);
          const provider = await tx.provider.delete({ ...query, where: { id } });
          return { result: provider, targetId: id, before: auditView(before) };
        },
      });
    },
  }),
}));

async function requireFreeName(tx: Tx, providerName: string): Promise<void> {
  const taken = await tx.provider.findUnique({ where: { name: providerName }, select: { id: true } });
  if (taken) throw new ConflictError(`a provider named "${providerName}" already exists`, "name");
}

/** What the audit log keeps of a provider: everything but the credentials, which it only says are present. */
function auditView(p: { name: string; kind: string; baseUrl: string; status: string; settings: unknown; credentialsCiphertext: unknown }) {
  return {
    name: p.name,
    kind: p.kind,
    baseUrl: p.baseUrl,
    status: p.status,
    settings: p.settings,
    credentials: p.credentialsCiphertext ? "set" : "none",
  };
}
