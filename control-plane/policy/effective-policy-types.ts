// GraphQL shapes of an effective policy: models with the reasons that give them, binding limits and budgets with sources.
import type { AccessReason, EffectiveBudget, LimitDimension, PolicyRoute, Subject } from "../../shared/policy/index.ts";
import { builder } from "../builder.ts";
import { BudgetPeriodEnum } from "../budgets/budget-type.ts";
import { AccessLevelEnum } from "../provider-access/provider-access-type.ts";
import { PolicySubjectRef } from "../subjects/subject-type.ts";

const AccessReasonKindEnum = builder.enumType("AccessReasonKind", { values: ["GRANT", "PROVIDER_ACCESS"] as const });

export const AccessReasonRef = builder.objectRef<AccessReason>("AccessReason").implement({
  fields: (t) => ({
    kind: t.field({ type: AccessReasonKindEnum, resolve: (r) => (r.kind === "grant" ? "GRANT" : "PROVIDER_ACCESS") }),
    via: t.field({ type: PolicySubjectRef, resolve: (r) => r.via }),
    providerId: t.id({ nullable: true, resolve: (r) => (r.kind === "providerAccess" ? r.providerId : null) }),
    providerName: t.string({ nullable: true, resolve: (r) => (r.kind === "providerAccess" ? r.providerName : null) }),
    level: t.field({ type: AccessLevelEnum, nullable: true, resolve: (r) => (r.kind === "providerAccess" ? r.level : null) }),
    description: t.string({ resolve: (r) => describeReason(r) }),
  }),
});

export function describeReason(reason: AccessReason): string {
  const via = reason.via.kind === "group" ? `group "${reason.via.name}"` : `${reason.via.kind === "user" ? "user" : "virtual account"} ${reason.via.name}`;
  return reason.kind === "grant"
    ? `granted to ${via}`
    : `${reason.level} access to provider "${reason.providerName}" held by ${via}`;
}

export const EffectiveRouteRef = builder.objectRef<PolicyRoute & { providerName: string }>("EffectiveRoute").implement({
  description: "A route requests for this model may take, in the order they are tried (priority, then weighted).",
  fields: (t) => ({
    id: t.exposeID("id"),
    providerId: t.exposeID("providerId"),
    providerName: t.exposeString("providerName"),
    providerModelId: t.exposeID("providerModelId"),
    priority: t.exposeInt("priority"),
    weight: t.exposeInt("weight"),
  }),
});

export interface EffectiveModelShape {
  id: string;
  slug: string;
  displayName: string;
  reasons: AccessReason[];
  routes: (PolicyRoute & { providerName: string })[];
}

export const EffectiveModelRef = builder.objectRef<EffectiveModelShape>("EffectiveModel").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    slug: t.exposeString("slug"),
    displayName: t.exposeString("displayName"),
    reasons: t.field({ type: [AccessReasonRef], resolve: (m) => m.reasons }),
    routes: t.field({ type: [EffectiveRouteRef], resolve: (m) => m.routes }),
  }),
});

const LimitDimensionEnum = builder.enumType("LimitDimension", {
  values: {
    REQUESTS_PER_MINUTE: { value: "requestsPerMinute" },
    TOKENS_PER_MINUTE: { value: "tokensPerMinute" },
    CONCURRENT_REQUESTS: { value: "concurrentRequests" },
    REQUESTS_PER_SECOND: { value: "requestsPerSecond", description: "A burst limit over a sliding second." },
  } as const,
});

export const EffectiveLimitRef = builder
  .objectRef<{ dimension: LimitDimension; value: number; source: Subject }>("EffectiveLimit")
  .implement({
    description: "The binding (lowest) value of one limit dimension across the principal and its groups.",
    fields: (t) => ({
      dimension: t.field({ type: LimitDimensionEnum, resolve: (l) => l.dimension }),
      value: t.exposeInt("value"),
      source: t.field({ type: PolicySubjectRef, resolve: (l) => l.source }),
    }),
  });

export const EffectiveBudgetRef = builder.objectRef<EffectiveBudget>("EffectiveBudget").implement({
  description: "The binding (lowest) cap of one period across the principal and its groups.",
  fields: (t) => ({
    period: t.field({ type: BudgetPeriodEnum, resolve: (b) => b.period }),
    cap: t.field({ type: "Usd", resolve: (b) => b.capMicros }),
    source: t.field({ type: PolicySubjectRef, resolve: (b) => b.source }),
  }),
});
