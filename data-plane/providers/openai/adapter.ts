// OpenAI: Bearer key, OpenAI-format chat completions and embeddings; the body goes upstream as the client sent it.
import type { EndpointKind, ProviderAdapter, RequestBody, RouteTarget, UpstreamRequest } from "../../contracts.ts";
import { isBareOrigin, joinUrl } from "../base-url.ts";
import { jsonPost } from "../json-post.ts";
import { MissingCredentialsError } from "../missing-credentials.ts";
import { openAiUsageScanner } from "./usage-scanner.ts";

export const OPENAI_ENDPOINTS: ReadonlySet<EndpointKind> = new Set<EndpointKind>(["chat", "embeddings"]);

/** The endpoint's URL under an OpenAI-SDK-style base (version included); a bare origin gets the usual /v1. */
export function openAiStyleUrl(baseUrl: string, endpoint: EndpointKind): string {
  const base = isBareOrigin(baseUrl) ? joinUrl(baseUrl, "/v1") : baseUrl;
  return joinUrl(base, openAiPath(endpoint));
}

export function openAiPath(endpoint: EndpointKind): string {
  if (endpoint === "chat") return "/chat/completions";
  if (endpoint === "embeddings") return "/embeddings";
  throw new Error(`OpenAI-format providers do not serve the ${endpoint} endpoint`);
}

export const openAiAdapter: ProviderAdapter = {
  kind: "openai",
  format: "openai",
  endpoints: OPENAI_ENDPOINTS,
  buildRequest(route: RouteTarget, endpoint: EndpointKind, body: RequestBody): UpstreamRequest {
    if (route.credentials === null) throw new MissingCredentialsError(route.providerName);
    return jsonPost(openAiStyleUrl(route.baseUrl, endpoint), { authorization: `Bearer ${route.credentials}` }, body);
  },
  usageScanner: openAiUsageScanner,
};
