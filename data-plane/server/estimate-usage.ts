// What admission reserves before the provider answers: a deliberately rough upper-ish guess, settled later.
import type { EndpointKind, RouteTarget } from "../contracts.ts";
import { costMicros } from "../../shared/money.ts";

export interface UsageEstimate {
  tokens: number;
  micros: bigint;
}

const NOTHING: UsageEstimate = { tokens: 0, micros: 0n };

/**
 * About 4 bytes of JSON per input token (over-counts, since keys and punctuation are not tokens), plus the output the
 * request allows (max_tokens / max_completion_tokens, else the configured default). Priced at the first route's
 * prices, which is the route most requests take. Counting tokens produces none, so it reserves nothing.
 */
export function estimateUsage(
  endpoint: EndpointKind,
  bodyBytes: number,
  body: Record<string, unknown>,
  route: RouteTarget | undefined,
  defaultMaxTokens: number,
): UsageEstimate {
  if (endpoint === "count_tokens") return NOTHING;
  const inputTokens = Math.ceil(bodyBytes / 4);
  const outputTokens = endpoint === "embeddings" ? 0 : requestedMaxTokens(body) ?? defaultMaxTokens;
  const micros = route === undefined ? 0n : costMicros({ inputTokens, outputTokens }, route.prices);
  return { tokens: inputTokens + outputTokens, micros };
}

function requestedMaxTokens(body: Record<string, unknown>): number | undefined {
  const value = body.max_completion_tokens ?? body.max_tokens;
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
