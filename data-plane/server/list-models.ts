// GET /v1/models: the models this key may use, in the list format of the client's SDK.
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { KeyEntry, Snapshot } from "../contracts.ts";
import { apiKeyFromHeaders, authenticate } from "./authenticate.ts";
import { gatewayError } from "./errors.ts";
import { Exchange } from "./exchange.ts";
import { type GatewayDeps, isLoaded } from "./gateway-deps.ts";
import { reject } from "./reject.ts";

const ROUTE = "models";
// Not a time anyone set: model facades have no public creation date, and a fixed value keeps the list stable.
const EPOCH_ISO = "1970-01-01T00:00:00Z";

export function listModelsHandler(deps: GatewayDeps): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const exchange = new Exchange(res);
    const snapshot = deps.snapshot();
    if (!isLoaded(snapshot)) return reject(deps.metrics, ROUTE, exchange, gatewayError("unavailable"));
    const key = authenticate(snapshot, apiKeyFromHeaders(req.getHeader("authorization"), req.getHeader("x-api-key")), Date.now());
    if (key === null) return reject(deps.metrics, ROUTE, exchange, gatewayError("invalid_api_key"));
    const slugs = usableSlugs(snapshot, key);
    // Anthropic's SDK always sends anthropic-version and reads its own list shape; everyone else gets OpenAI's.
    const body = req.getHeader("anthropic-version") === "" ? openAiList(slugs) : anthropicList(snapshot, slugs);
    deps.metrics.requests.labels(ROUTE, "200").inc();
    exchange.sendJson("200 OK", body);
  };
}

/** The owner's models, narrowed by the key's list (DESIGN rule 6), that exist in the catalogue; sorted. */
export function usableSlugs(snapshot: Snapshot, key: KeyEntry): string[] {
  const slugs: string[] = [];
  for (const slug of key.principal.models.keys()) {
    if (key.modelSlugs.size > 0 && !key.modelSlugs.has(slug)) continue;
    if (snapshot.modelsBySlug.has(slug)) slugs.push(slug);
  }
  return slugs.sort();
}

function openAiList(slugs: string[]): string {
  return JSON.stringify({ object: "list", data: slugs.map((id) => ({ id, object: "model", created: 0, owned_by: "tollgate" })) });
}

function anthropicList(snapshot: Snapshot, slugs: string[]): string {
  return JSON.stringify({
    data: slugs.map((id) => ({ type: "model", id, display_name: snapshot.modelsBySlug.get(id)?.displayName ?? id, created_at: EPOCH_ISO })),
    has_more: false,
    first_id: slugs[0] ?? null,
    last_id: slugs.at(-1) ?? null,
  });
}
