// `effectivePolicy`: for a user or virtual account, the models it may use and why, and its binding limits and budgets.
import { z } from "zod";
import { BUDGET_PERIODS, type EffectivePolicy, LIMIT_DIMENSIONS, effectivePolicy } from "../../shared/policy/index.ts";
import { builder } from "../builder.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { PolicySubjectRef } from "../subjects/subject-type.ts";
import { parseInput, uuid } from "../validation.ts";
import {
  EffectiveBudgetRef,
  EffectiveLimitRef,
  EffectiveModelRef,
  type EffectiveModelShape,
} from "./effective-policy-types.ts";
import { type AccessExplanation, explainAccess } from "./explain-access.ts";
import { type LoadedPolicyInput, loadPolicyInput } from "./load-policy-input.ts";

interface PolicyAnswer {
  loaded: LoadedPolicyInput;
  policy: EffectivePolicy;
}

const AccessExplanationRef = builder.objectRef<AccessExplanation>("AccessExplanation").implement({
  fields: (t) => ({
    slug: t.exposeString("slug"),
    allowed: t.exposeBoolean("allowed"),
    explanation: t.exposeString("explanation"),
  }),
});

const EffectivePolicyRef = builder.objectRef<PolicyAnswer>("EffectivePolicy").implement({
  description: "What a principal may use and why. Access is the union of grants and provider access; limits and budgets are the strictest across the principal and its groups.",
  fields: (t) => ({
    principal: t.field({ type: PolicySubjectRef, resolve: (a) => a.policy.principal }),
    active: t.boolean({ description: "False when the user or virtual account is disabled: nothing is usable.", resolve: (a) => a.loaded.active }),
    groups: t.field({ type: [PolicySubjectRef], resolve: (a) => a.loaded.input.groups }),
    models: t.field({ type: [EffectiveModelRef], resolve: (a) => a.policy.models.map((m) => modelShape(a.loaded, m)) }),
    limits: t.field({
      type: [EffectiveLimitRef],
      resolve: (a) => LIMIT_DIMENSIONS.flatMap((dimension) => {
        const limit = a.policy.limits[dimension];
        return limit ? [{ dimension, ...limit }] : [];
      }),
    }),
    budgets: t.field({
      type: [EffectiveBudgetRef],
      resolve: (a) => BUDGET_PERIODS.flatMap((period) => a.policy.budgets[period] ?? []),
    }),
    explain: t.field({
      type: AccessExplanationRef,
      description: 'Why the principal can or cannot use one model, e.g. explain(slug: "chat-fast").',
      args: { slug: t.arg.string({ required: true }) },
      resolve: async (a, args, ctx) => {
        const exists = a.loaded.input.models.some((m) => m.slug === args.slug) ||
          (await ctx.prisma.model.count({ where: { slug: args.slug } })) > 0;
        return explainAccess(a.policy, a.loaded.input.groups, a.loaded.active, args.slug, exists);
      },
    }),
  }),
});

function modelShape(loaded: LoadedPolicyInput, access: EffectivePolicy["models"][number]): EffectiveModelShape {
  return {
    id: access.model.id,
    slug: access.model.slug,
    displayName: loaded.models.get(access.model.id)?.displayName ?? access.model.slug,
    reasons: access.reasons,
    routes: access.routes.map((r) => ({ ...r, providerName: loaded.providerNames.get(r.providerId) ?? r.providerId })),
  };
}

const argsSchema = z
  .object({ userId: uuid("userId").nullish(), virtualAccountId: uuid("virtualAccountId").nullish() })
  .refine((a) => Boolean(a.userId) !== Boolean(a.virtualAccountId), { message: "give exactly one of userId, virtualAccountId" });

builder.queryFields((t) => ({
  effectivePolicy: t.field({
    type: EffectivePolicyRef,
    errors: { types: [ValidationError, NotFoundError] },
    description: "The effective policy of one user or virtual account, with the reason for every model and the source of every binding limit and budget.",
    args: { userId: t.arg.id({ required: false }), virtualAccountId: t.arg.id({ required: false }) },
    // Users may read their own policy; a virtual account's is for admins.
    authScopes: (_root, args) => (args.userId ? { orgAdmin: true, self: String(args.userId) } : { orgAdmin: true }),
    resolve: async (_root, args, ctx) => {
      const { userId, virtualAccountId } = parseInput(argsSchema, args);
      const ref = userId ? ({ kind: "user", id: userId } as const) : ({ kind: "virtualAccount", id: virtualAccountId! } as const);
      const loaded = await loadPolicyInput(ctx.prisma, ref);
      if (!loaded) throw new NotFoundError(userId ? "User" : "VirtualAccount", ref.id);
      return { loaded, policy: effectivePolicy(loaded.input) };
    },
  }),
}));
