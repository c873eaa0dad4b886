// Changing a model's routes to provider models: priority for fallback, weight for load balancing, status to pause one.
import { z } from "zod";
import { builder } from "../builder.ts";
import { commitChange } from "../changes/commit-change.ts";
import type { Tx } from "../db/client.ts";
import { mutationErrors } from "../error-types.ts";
import { ConflictError, NotFoundError } from "../errors.ts";
import { findModelOrThrow, findProviderModelOrThrow } from "../lookups.ts";
import { nonNegativeInt, parseInput, uuid } from "../validation.ts";
import { RouteStatusEnum, routeStatuses } from "./model-type.ts";

const AddModelRouteInput = builder.inputType("AddModelRouteInput", {
  fields: (t) => ({
    modelId: t.id({ required: true }),
    providerModelId: t.id({ required: true }),
    priority: t.int({ required: false, defaultValue: 0, description: "Lower is tried first; at least 0." }),
    weight: t.int({ required: false, defaultValue: 1, description: "Share of traffic among equal priorities; at least 1." }),
    status: t.field({ type: RouteStatusEnum, required: false, defaultValue: "ACTIVE" }),
  }),
});

const UpdateModelRouteInput = builder.inputType("UpdateModelRouteInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    priority: t.int({ required: false, description: "Omit to keep." }),
    weight: t.int({ required: false, description: "Omit to keep." }),
    status: t.field({ type: RouteStatusEnum, required: false, description: "Omit to keep." }),
  }),
});

const weight = z.number().int("weight must be a whole number").min(1, "weight must be at least 1").max(1_000_000, "weight must be at most 1000000");
const routeFields = { priority: nonNegativeInt("priority").nullish(), weight: weight.nullish(), status: z.enum(routeStatuses).nullish() };
const addSchema = z.object({ modelId: uuid("modelId"), providerModelId: uuid("providerModelId"), ...routeFields });
const updateSchema = z.object({ id: uuid("id"), ...routeFields });

builder.mutationFields((t) => ({
  addModelRoute: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Routes the model to a provider model. Returns the model with its routes.",
    args: { input: t.arg({ type: AddModelRouteInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const input = parseInput(addSchema, args.input);
      const data = {
        modelId: input.modelId,
        providerModelId: input.providerModelId,
        priority: input.priority ?? 0,
        weight: input.weight ?? 1,
        status: input.status ?? "ACTIVE",
      };
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.route.add",
        targetType: "ModelRoute",
        run: async (tx) => {
          const model = await findModelOrThrow(tx, data.modelId);
          await findProviderModelOrThrow(tx, data.providerModelId);
          const existing = await tx.modelRoute.findUnique({
            where: { modelId_providerModelId: { modelId: data.modelId, providerModelId: data.providerModelId } },
            select: { id: true },
          });
          if (existing) throw new ConflictError(`model ${model.slug} already has a route to this provider model`, "providerModelId");
          const route = await tx.modelRoute.create({ data, select: { id: true } });
          const result = await tx.model.findUniqueOrThrow({ ...query, where: { id: data.modelId } });
          return { result, targetId: route.id, after: data };
        },
      });
    },
  }),

  updateModelRoute: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Changes the given fields of a route. Returns the model with its routes.",
    args: { input: t.arg({ type: UpdateModelRouteInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id, ...changes } = parseInput(updateSchema, args.input);
      const data = {
        ...(changes.priority != null ? { priority: changes.priority } : {}),
        ...(changes.weight != null ? { weight: changes.weight } : {}),
        ...(changes.status ? { status: changes.status } : {}),
      };
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.route.update",
        targetType: "ModelRoute",
        run: async (tx) => {
          const before = await findRouteOrThrow(tx, id);
          await tx.modelRoute.update({ where: { id }, data, select: { id: true } });
          const result = await tx.model.findUniqueOrThrow({ ...query, where: { id: before.modelId } });
          return { result, targetId: id, before: auditView(before), after: data };
        },
      });
    },
  }),

  removeModelRoute: t.prismaField({
    type: "Model",
    errors: mutationErrors,
    authScopes: { orgAdmin: true },
    description: "Removes a route. Returns the model with its remaining routes.",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { id } = parseInput(z.object({ id: uuid("id") }), args);
      return commitChange(ctx, {
        kind: "MODEL",
        action: "model.route.remove",
        targetType: "ModelRoute",
        run: async (tx) => {
          const before = await findRouteOrThrow(tx, id);
          await tx.modelRoute.delete({ where: { id }, select: { id: true } });
          const result = await tx.model.findUniqueOrThrow({ ...query, where: { id: before.modelId } });
          return { result, targetId: id, before: auditView(before) };
        },
      });
    },
  }),
}));

async function findRouteOrThrow(tx: Tx, id: string) {
  const route = await tx.modelRoute.findUnique({ where: { id } });
  if (!route) throw new NotFoundError("ModelRoute", id);
  return route;
}

function auditView(r: { modelId: string; providerModelId: string; priority: number; weight: number; status: string }) {
  return { modelId: r.modelId, providerModelId: r.providerModelId, priority: r.priority, weight: r.weight, status: r.status };
}
