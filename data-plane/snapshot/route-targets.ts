// The catalogue side of the snapshot: policy-shaped models and providers, and one RouteTarget per route, shared
// by every principal that may take it (credentials are decrypted once per provider, not per route or principal).
import type { CredentialCipher } from "../../shared/credential-cipher.ts";
import type { PolicyModel, PolicyProvider } from "../../shared/policy/index.ts";
import type { ModelEntry, RouteTarget } from "../contracts.ts";
import type { PolicyRows } from "./load-policy-rows.ts";

export interface Catalogue {
  policyModels: Map<string, PolicyModel>;
  policyProviders: PolicyProvider[];
  /** Model ids with an ACTIVE route to the provider: what provider access on it reaches (rule 2). */
  modelIdsByProvider: Map<string, string[]>;
  targetsByRouteId: Map<string, RouteTarget>;
  modelsBySlug: Map<string, ModelEntry>;
}

export function buildCatalogue(rows: PolicyRows, cipher: CredentialCipher, log: (line: string) => void): Catalogue {
  const providers = new Map(rows.providers.map((p) => [p.id, p]));
  const credentials = new Map<string, string | null>();
  const usable = new Set<string>();
  for (const provider of rows.providers) {
    if (provider.status !== "ACTIVE") continue;
    try {
      credentials.set(provider.id, provider.credentialsCiphertext ? cipher.decrypt(provider.credentialsCiphertext) : null);
      usable.add(provider.id);
    } catch (error) {
      // A wrong TOLLGATE_SECRET_KEY or a damaged row: calling upstream without credentials would only fail there,
      // so the provider's routes are left out (other routes still serve) and the operator is told why.
      log(`[tollgate] provider "${provider.name}" (${provider.id}): credentials cannot be decrypted, its routes are skipped: ${(error as Error).message}`);
    }
  }
  const policyProviders: PolicyProvider[] = rows.providers.map((p) => ({ id: p.id, name: p.name, active: usable.has(p.id) }));

  const providerModels = new Map(rows.providerModels.map((pm) => [pm.id, pm]));
  const policyModels = new Map<string, PolicyModel>();
  const modelsBySlug = new Map<string, ModelEntry>();
  for (const model of rows.models) {
    policyModels.set(model.id, { id: model.id, slug: model.slug, routes: [] });
    modelsBySlug.set(model.slug, { id: model.id, slug: model.slug, kind: model.kind, displayName: model.displayName });
  }

  const targetsByRouteId = new Map<string, RouteTarget>();
  const modelIdsByProvider = new Map<string, string[]>();
  for (const route of rows.routes) {
    const providerModel = providerModels.get(route.providerModelId);
    const model = policyModels.get(route.modelId);
    const provider = providerModel && providers.get(providerModel.providerId);
    if (!providerModel || !model || !provider) continue;
    const active = route.status === "ACTIVE";
    model.routes.push({ id: route.id, providerId: provider.id, providerModelId: providerModel.id, priority: route.priority, weight: route.weight, active });
    if (active) {
      const reached = modelIdsByProvider.get(provider.id);
      if (reached) reached.push(model.id);
      else modelIdsByProvider.set(provider.id, [model.id]);
    }
    // Only routes a request could take need a target: active route on a usable provider.
    if (!active || !usable.has(provider.id)) continue;
    targetsByRouteId.set(route.id, {
      routeId: route.id,
      providerId: provider.id,
      providerName: provider.name,
      providerKind: provider.kind,
      baseUrl: provider.baseUrl,
      credentials: credentials.get(provider.id) ?? null,
      settings: settingsOf(provider.settings),
      providerModelId: providerModel.id,
      upstreamModel: providerModel.upstreamName,
      priority: route.priority,
      weight: route.weight,
      prices: {
        inputPerMTok: providerModel.inputPricePerMTok,
        outputPerMTok: providerModel.outputPricePerMTok,
        cachedInputPerMTok: providerModel.cachedInputPricePerMTok,
      },
    });
  }
  return { policyModels, policyProviders, modelIdsByProvider, targetsByRouteId, modelsBySlug };
}

function settingsOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
