// Azure OpenAI: the route's upstream model names the deployment, `api-key` authenticates, `api-version` is required.
import type { EndpointKind, ProviderAdapter, RequestBody, RouteTarget, UpstreamRequest } from "../../contracts.ts";
import { endsWithSegment, joinUrl, trimBase } from "../base-url.ts";
import { jsonPost } from "../json-post.ts";
import { MissingCredentialsError } from "../missing-credentials.ts";
import { OPENAI_ENDPOINTS, openAiPath } from "../openai/adapter.ts";
import { openAiUsageScanner } from "../openai/usage-scanner.ts";

/** The latest GA data-plane inference version (supports stream_options.include_usage); settings.apiVersion overrides. */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * Deployment URLs: {resource endpoint}/openai/deployments/{deployment}{path}?api-version=…, where the base is the
 * resource endpoint (https://NAME.openai.azure.com, a trailing /openai tolerated). A base ending in /openai/v1 is
 * Azure's v1 API: OpenAI-style paths, the model in the body, api-version only when configured.
 */
export function azureUrl(route: RouteTarget, endpoint: EndpointKind): string {
  const configured = typeof route.settings.apiVersion === "string" && route.settings.apiVersion !== "" ? route.settings.apiVersion : null;
  if (endsWithSegment(route.baseUrl, "v1")) {
    const url = joinUrl(route.baseUrl, openAiPath(endpoint));
    return configured === null ? url : `${url}?api-version=${encodeURIComponent(configured)}`;
  }
  const base = trimBase(route.baseUrl);
  const root = endsWithSegment(base, "openai") ? base : `${base}/openai`;
  const version = encodeURIComponent(configured ?? AZURE_DEFAULT_API_VERSION);
  return `${root}/deployments/${encodeURIComponent(route.upstreamModel)}${openAiPath(endpoint)}?api-version=${version}`;
}

export const azureOpenAiAdapter: ProviderAdapter = {
  kind: "azure-openai",
  format: "openai",
  endpoints: OPENAI_ENDPOINTS,
  buildRequest(route: RouteTarget, endpoint: EndpointKind, body: RequestBody): UpstreamRequest {
    if (route.credentials === null) throw new MissingCredentialsError(route.providerName);
    return jsonPost(azureUrl(route, endpoint), { "api-key": route.credentials }, body);
  },
  usageScanner: openAiUsageScanner,
};
