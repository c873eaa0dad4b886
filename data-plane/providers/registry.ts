// Which adapter speaks to which provider kind. Adding a provider is adding a folder here and one line below.
//
// Base URL convention (what an admin types as a provider's baseUrl; trailing slashes never matter):
// - openai, openai-compatible: what the OpenAI SDK takes as baseURL, version path included, e.g.
//   https://api.openai.com/v1, http://vllm:8000/v1, https://api.groq.com/openai/v1; "/chat/completions" or
//   "/embeddings" is appended. A bare origin (http://localhost:11434) gets "/v1", where every OpenAI-style server listens.
// - azure-openai: the resource endpoint, https://NAME.openai.azure.com (a trailing /openai is tolerated), giving
//   …/openai/deployments/{route.upstreamModel}/chat/completions?api-version={settings.apiVersion ?? 2024-10-21};
//   a base ending in /openai/v1 selects Azure's v1 API instead (OpenAI-style paths, model in the body).
// - anthropic: what the Anthropic SDK takes as baseURL, the origin https://api.anthropic.com; "/v1/messages" or
//   "/v1/messages/count_tokens" is appended, without doubling a /v1 the base already ends in.
import type { ProviderAdapter } from "../contracts.ts";
import { anthropicAdapter } from "./anthropic/adapter.ts";
import { azureOpenAiAdapter } from "./azure-openai/adapter.ts";
import { openAiAdapter } from "./openai/adapter.ts";
import { openAiCompatibleAdapter } from "./openai-compatible/adapter.ts";

const ADAPTERS = new Map<string, ProviderAdapter>(
  [openAiAdapter, openAiCompatibleAdapter, azureOpenAiAdapter, anthropicAdapter].map((adapter) => [adapter.kind, adapter]),
);

/** The adapter for a provider kind, or undefined for a kind this data plane does not know (the route is unusable). */
export function adapterFor(kind: string): ProviderAdapter | undefined {
  return ADAPTERS.get(kind);
}

/** Every kind with an adapter. */
export const PROVIDER_KINDS: readonly string[] = [...ADAPTERS.keys()];
