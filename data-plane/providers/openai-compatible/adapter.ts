// Any OpenAI-compatible server (Ollama, vLLM, LM Studio, llama.cpp, hosted clones): OpenAI's wire format, key optional.
import type { EndpointKind, ProviderAdapter, RequestBody, RouteTarget, UpstreamRequest } from "../../contracts.ts";
import { jsonPost } from "../json-post.ts";
import { OPENAI_ENDPOINTS, openAiStyleUrl } from "../openai/adapter.ts";
import { openAiUsageScanner } from "../openai/usage-scanner.ts";

export const openAiCompatibleAdapter: ProviderAdapter = {
  kind: "openai-compatible",
  format: "openai",
  endpoints: OPENAI_ENDPOINTS,
  buildRequest(route: RouteTarget, endpoint: EndpointKind, body: RequestBody): UpstreamRequest {
    // Local servers usually need no key; sending none is better than sending an empty Bearer.
    const headers: Record<string, string> = route.credentials === null ? {} : { authorization: `Bearer ${route.credentials}` };
    return jsonPost(openAiStyleUrl(route.baseUrl, endpoint), headers, body);
  },
  usageScanner: openAiUsageScanner,
};
