// Which models a principal may use, why, and through which routes (policy rules 1–3): allow-only, a union.
import { sameSubject } from "./subjects.ts";
import type {
  AccessReason,
  ModelAccess,
  PolicyModel,
  PolicyProvider,
  PolicyProviderAccess,
  PolicyRoute,
  PrincipalPolicyInput,
  Subject,
} from "./types.ts";

export type ModelAccessInput = Pick<
  PrincipalPolicyInput,
  "principal" | "groups" | "grants" | "providerAccess" | "models" | "providers"
>;

// Code-unit order rather than localeCompare, so the result does not depend on the host's locale.
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function effectiveModelAccess(input: ModelAccessInput): ModelAccess[] {
  const holders: Subject[] = [input.principal, ...input.groups];
  // Rank orders reasons deterministically (the principal, then groups as given); -1 = not this principal's row.
  const rank = (subject: Subject): number => holders.findIndex((holder) => sameSubject(holder, subject));
  const providers = new Map<string, PolicyProvider>(input.providers.map((p) => [p.id, p]));

  const grants = input.grants.filter((g) => rank(g.subject) >= 0);
  // Access to a provider the caller did not load cannot be explained or routed to, so it is ignored.
  const providerAccess = input.providerAccess.filter((a) => rank(a.subject) >= 0 && providers.has(a.providerId));

  const result: ModelAccess[] = [];
  const seenModels = new Set<string>();
  for (const model of input.models) {
    if (seenModels.has(model.id)) continue;
    seenModels.add(model.id);
    const access = accessToModel(model, grants, providerAccess, providers, rank);
    if (access) result.push(access);
  }
  return result.sort((a, b) => compareText(a.model.slug, b.model.slug) || compareText(a.model.id, b.model.id));
}

function accessToModel(
  model: PolicyModel,
  grants: PrincipalPolicyInput["grants"],
  providerAccess: PolicyProviderAccess[],
  providers: Map<string, PolicyProvider>,
  rank: (subject: Subject) => number,
): ModelAccess | undefined {
  const activeRoutes = model.routes.filter((r) => r.active);
  const routedProviderIds = new Set(activeRoutes.map((r) => r.providerId));

  const grantReasons: AccessReason[] = grants
    .filter((g) => g.modelId === model.id)
    .sort((a, b) => rank(a.subject) - rank(b.subject))
    .map((g) => ({ kind: "grant", via: g.subject }));

  // Rule 2 reaches a model through an ACTIVE route only; an inactive route is not "a route to P".
  const accessRows = providerAccess
    .filter((a) => routedProviderIds.has(a.providerId))
    .sort(
      (a, b) =>
        compareText(a.providerId, b.providerId) ||
        rank(a.subject) - rank(b.subject) ||
        compareText(a.level, b.level),
    );
  const providerReasons: AccessReason[] = accessRows.map((a) => ({
    kind: "providerAccess",
    via: a.subject,
    providerId: a.providerId,
    providerName: providers.get(a.providerId)?.name ?? a.providerId,
    level: a.level,
  }));

  const reasons = uniqueReasons([...grantReasons, ...providerReasons]);
  if (reasons.length === 0) return undefined;

  const granted = grantReasons.length > 0;
  const accessibleProviderIds = new Set(accessRows.map((a) => a.providerId));
  const routes = activeRoutes
    .filter((r) => providers.get(r.providerId)?.active === true)
    .filter((r) => granted || accessibleProviderIds.has(r.providerId))
    .sort((a, b) => a.priority - b.priority || compareText(a.id, b.id));
  // Listed even with no routes: the data plane can then say "unavailable" (503) rather than "forbidden" (403).
  return { model, reasons, routes };
}

// Duplicate rows (the same grant loaded twice) would otherwise show as two reasons.
function uniqueReasons(reasons: AccessReason[]): AccessReason[] {
  const seen = new Set<string>();
  return reasons.filter((reason) => {
    const key =
      reason.kind === "grant"
        ? JSON.stringify([reason.kind, reason.via.kind, reason.via.id])
        : JSON.stringify([reason.kind, reason.via.kind, reason.via.id, reason.providerId, reason.level]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The usable routes of the model with this slug, or undefined if the principal may not use it. */
export function routesForModel(access: readonly ModelAccess[], slug: string): PolicyRoute[] | undefined {
  return access.find((a) => a.model.slug === slug)?.routes;
}

/** MANAGER access to the provider, held by the principal or any of its groups, lets it manage that provider. */
export function canManageProvider(
  providerAccess: readonly PolicyProviderAccess[],
  principal: Subject,
  groups: readonly Subject[],
  providerId: string,
): boolean {
  const holders = [principal, ...groups];
  return providerAccess.some(
    (a) =>
      a.providerId === providerId && a.level === "MANAGER" && holders.some((holder) => sameSubject(holder, a.subject)),
  );
}
