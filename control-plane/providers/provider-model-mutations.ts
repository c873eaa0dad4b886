// Changing a provider's models: the upstream names it serves and their per-million-token prices.
import { z } from "zod";
import { microsToUsd } from "../../shared/money.ts";
import { isOrgAdmin } from "../auth/caller.ts";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Context } from "../context.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError } from "../errors.ts";
import { findProviderModelOrThrow, findProviderOrThrow } from "../lookups.ts";
import { isUuid, name, parseInput, uuid } from "../validation.ts";
import { price } from "./provider-inputs.ts";

const AddProviderModelInput = builder.inputType("AddProviderModelInput", {
  fields: (t) => ({
    providerId: t.id({ required: true }),
    upstreamName: t.string({ required: true, description: "The provider's own model name, e.g. gpt-4o-mini." }),
    inputPricePerMTok: t.field({ type: "Usd", required: false, description: "Defaults to 0." }),
    outputPricePerMTok: t.field({ type: "Usd", required: false, description: "Defaults to 0." }),
    cachedInputPricePerMTok: t.field({ type: "Usd", required: false, description: "Defaults to 0." }),
  }),
});

const UpdateProviderModelInput = builder.inputType("UpdateProviderModelInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    upstreamName: t.string({ required: false, description: "Omit to keep." }),
    inputPricePerMTok: t.field({ type: "Usd", required: false, description: "Omit to keep." }),
    outputPricePerMTok: t.field({ type: "Usd", required: false, description: "Omit to keep." }),
    cachedInputPricePerMTok: t.field({ type: "Usd", required: false, description: "Omit to keep." }),
  }),
});

const prices = {
  inputPricePerMTok: price("inputPricePerMTok").nullish(),
  outputPricePerMTok: price("outputPricePerMTok").nullish(),
  cachedInputPricePerMTok: price("cachedInputPricePerMTok").nullish(),
};
const upstreamName = name("upstreamName", 200);
const addSchema = z.object({ providerId: uuid("providerId"), upstreamName, ...prices });
const updateSchema = z.object({ id: uuid("id"), upstreamName: upstreamName.nullish(), ...prices });

builder.mutationFields((t) => ({
  addProviderModel: t.prismaField({
    type: "ProviderModel",
    errors: mutationErrors,
    authScopes: (_root, args) => ({ orgAdmin: true, providerManager: args.input.providerId }),
    args: { input: t.arg({ type: AddProviderModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(addSchema, args.input);
      const data = {
        providerId: input.providerId,
        upstreamName: input.upstreamName,
        inputPricePerMTok: input.inputPricePerMTok ?? 0n,
        outputPricePerMTok: input.outputPricePerMTok ?? 0n,
        cachedInputPricePerMTok: input.cachedInputPricePerMTok ?? 0n,
      };
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.model.add",
        targetType: "ProviderModel",
        run: async (tx) => {
          await findProviderOrThrow(tx, data.providerId);
          await requireFreeUpstreamName(tx, data.providerId, data.upstreamName);
          const model = await tx.providerModel.create({ ...query, data });
          return { result: model, targetId: model.id, after: pricesInUsd(data) };
        },
      });
    },
  }),

  updateProviderModel: t.prismaField({
    type: "ProviderModel",
    errors: mutationErrors,
    authScopes: (_root, args, ctx) => managersOfProviderModel(ctx, args.input.id),
    args: { input: t.arg({ type: UpdateProviderModelInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined && v !== null)) as {
        upstreamName?: string;
        inputPricePerMTok?: bigint;
        outputPricePerMTok?: bigint;
        cachedInputPricePerMTok?: bigint;
      };
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.model.update",
        targetType: "ProviderModel",
        run: async (tx) => {
          const before = await findProviderModelOrThrow(tx, id);
          if (data.upstreamName && data.upstreamName !== before.upstreamName) {
            await requireFreeUpstreamName(tx, before.providerId, data.upstreamName);
          }
          const model = await tx.providerModel.update({ ...query, where: { id }, data });
          return { result: model, targetId: id, before: auditView(before), after: pricesInUsd(data) };
        },
      });
    },
  }),

  removeProviderModel: t.prismaField({
    type: "ProviderModel",
    errors: mutationErrors,
    description: "Removes the provider model and every model route to it. Returns the removed provider model.",
    authScopes: (_root, args, ctx) => managersOfProviderModel(ctx, args.id),
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "PROVIDER",
        action: "provider.model.remove",
        targetType: "ProviderModel",
        run: async (tx) => {
          const before = await findProviderModelOrThrow(tx, id);
          const model = await tx.providerModel.delete({ ...query, where: { id } });
          return { result: model, targetId: id, before: auditView(before) };
        },
      });
    },
  }),
}));

/**
 * Who may change a provider model: admins and the MANAGERs of its provider. An unknown id reaches the resolver's
 * NOT_FOUND only for admins; anyone else is refused, so ids cannot be probed.
 */
async function managersOfProviderModel(ctx: Context, id: string) {
  if (isOrgAdmin(ctx.caller) || !isUuid(id)) return { orgAdmin: true };
  const model = await ctx.prisma.providerModel.findUnique({ where: { id }, select: { providerId: true } });
  return model ? { orgAdmin: true, providerManager: model.providerId } : { orgAdmin: true };
}

async function requireFreeUpstreamName(tx: Tx, providerId: string, upstream: string): Promise<void> {
  const taken = await tx.providerModel.findUnique({
    where: { providerId_upstreamName: { providerId, upstreamName: upstream } },
    select: { id: true },
  });
  if (taken) throw new ConflictError(`this provider already has a model named "${upstream}"`, "upstreamName");
}

function auditView(m: { providerId: string; upstreamName: string; inputPricePerMTok: bigint; outputPricePerMTok: bigint; cachedInputPricePerMTok: bigint }) {
  const { providerId, upstreamName, inputPricePerMTok, outputPricePerMTok, cachedInputPricePerMTok } = m;
  return pricesInUsd({ providerId, upstreamName, inputPricePerMTok, outputPricePerMTok, cachedInputPricePerMTok });
}

/** The audit log shows prices as the API does ("2.50" USD), not as raw micro-dollars. */
function pricesInUsd(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "bigint" ? microsToUsd(v) : v]));
}
