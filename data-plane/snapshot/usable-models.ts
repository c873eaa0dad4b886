// Which models a principal may use and through which routes (DESIGN rules 1–3), from shared/policy's
// effectiveModelAccess, computed once per distinct access profile: most principals reach the same models through
// the same groups, so they share one computation and one read-only Map.
import {
  effectiveModelAccess,
  type PolicyGrant,
  type PolicyModel,
  type PolicyProviderAccess,
  type Subject,
} from "../../shared/policy/index.ts";
import type { RouteTarget } from "../contracts.ts";
import type { Catalogue } from "./route-targets.ts";

export type UsableModels = Map<string, RouteTarget[]>;

export interface UsableModelsCache {
  modelsFor(principal: Subject, groups: Subject[], grants: PolicyGrant[], access: PolicyProviderAccess[]): UsableModels;
}

export function usableModelsCache(catalogue: Catalogue): UsableModelsCache {
  const byProfile = new Map<string, UsableModels>();
  return {
    modelsFor(principal, groups, grants, access) {
      // The usable routes depend only on which models are granted and which providers are accessible (to the
      // principal or any group: the union), never on who holds them, so that pair is the cache key.
      const profile = profileOf(grants, access);
      const cached = byProfile.get(profile);
      if (cached) return cached;
      const models = new Map<string, RouteTarget[]>();
      const allowed = effectiveModelAccess({
        principal,
        groups,
        grants,
        providerAccess: access,
        // Only models this principal could reach, so the work does not grow with the whole catalogue.
        models: candidateModels(grants, access, catalogue),
        providers: catalogue.policyProviders,
      });
      for (const { model, routes } of allowed) {
        const targets: RouteTarget[] = [];
        for (const route of routes) {
          const target = catalogue.targetsByRouteId.get(route.id);
          if (target) targets.push(target);
        }
        models.set(model.slug, targets);
      }
      byProfile.set(profile, models);
      return models;
    },
  };
}

function profileOf(grants: PolicyGrant[], access: PolicyProviderAccess[]): string {
  const modelIds = [...new Set(grants.map((g) => g.modelId))].sort();
  const providerIds = [...new Set(access.map((a) => a.providerId))].sort();
  return `${modelIds.join(",")}|${providerIds.join(",")}`;
}

function candidateModels(grants: PolicyGrant[], access: PolicyProviderAccess[], catalogue: Catalogue): PolicyModel[] {
  const ids = new Set<string>();
  for (const g of grants) ids.add(g.modelId);
  for (const a of access) for (const id of catalogue.modelIdsByProvider.get(a.providerId) ?? []) ids.add(id);
  const models: PolicyModel[] = [];
  for (const id of ids) {
    const model = catalogue.policyModels.get(id);
    if (model) models.push(model);
  }
  return models;
}
