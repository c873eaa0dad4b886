// Anthropic Messages: x-api-key, anthropic-version (the client's, else the stable one) and anthropic-beta passed through.
import type { EndpointKind, ProviderAdapter, RequestBody, RouteTarget, UpstreamRequest } from "../../contracts.ts";
import { endsWithSegment, joinUrl } from "../base-url.ts";
import { jsonPost } from "../json-post.ts";
import { MissingCredentialsError } from "../missing-credentials.ts";
import { anthropicUsageScanner } from "./usage-scanner.ts";

/** The version every Messages client can speak; clients such as Claude Code send their own, which wins. */
export const ANTHROPIC_DEFAULT_VERSION = "2023-06-01";

const ENDPOINTS: ReadonlySet<EndpointKind> = new Set<EndpointKind>(["messages", "count_tokens"]);

/** Anthropic-SDK-style base (the origin, https://api.anthropic.com) + /v1/…; a base already ending in /v1 is not doubled. */
export function anthropicUrl(baseUrl: string, endpoint: EndpointKind): string {
  const path = endpoint === "messages" ? "/messages" : endpoint === "count_tokens" ? "/messages/count_tokens" : null;
  if (path === null) throw new Error(`Anthropic does not serve the ${endpoint} endpoint`);
  return joinUrl(baseUrl, endsWithSegment(baseUrl, "v1") ? path : `/v1${path}`);
}

export const anthropicAdapter: ProviderAdapter = {
  kind: "anthropic",
  format: "anthropic",
  endpoints: ENDPOINTS,
  buildRequest(route: RouteTarget, endpoint: EndpointKind, body: RequestBody, clientHeaders: Record<string, string>): UpstreamRequest {
    if (route.credentials === null) throw new MissingCredentialsError(route.providerName);
    const headers: Record<string, string> = {
      "x-api-key": route.credentials,
      "anthropic-version": clientHeaders["anthropic-version"] || ANTHROPIC_DEFAULT_VERSION,
    };
    const beta = clientHeaders["anthropic-beta"];
    if (beta) headers["anthropic-beta"] = beta;
    return jsonPost(anthropicUrl(route.baseUrl, endpoint), headers, body);
  },
  usageScanner(endpoint: EndpointKind, stream: boolean) {
    return anthropicUsageScanner(endpoint, stream);
  },
};
