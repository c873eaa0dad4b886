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

/**
 * What a request's input is charged as when the provider never said (a stream cut before its usage report, a client
 * gone before the answer): about 4 characters per token of the text the model reads (the usual rule of thumb, and the
 * one the test mock reports by) — system, message contents (strings, or the `text` of parts), embeddings input (a token
 * id counts as one token) — plus the JSON of what is not plain text (tools, tool calls, tool inputs) at the same rate.
 * It ignores per-message overhead and images, so it errs low, unlike the reservation above, which must err high.
 * Computed only when needed: it walks the body once.
 */
export function estimateInputTokens(endpoint: EndpointKind, body: Record<string, unknown>): number {
  if (endpoint === "count_tokens") return 0;
  let chars = textChars(body.system) + textChars(body.input) + jsonChars(body.tools) + jsonChars(body.functions);
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const message of messages) {
      if (typeof message !== "object" || message === null) continue;
      const m = message as Record<string, unknown>;
      chars += textChars(m.content) + jsonChars(m.tool_calls) + jsonChars(m.function_call);
    }
  }
  return Math.max(1, Math.ceil(chars / 4));
}

/** Characters of text in a content value: a string, a token id, or parts with `text` (tool results nest `content`). */
function textChars(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (typeof value === "number") return 4;
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += textChars(item);
    return n;
  }
  if (typeof value !== "object" || value === null) return 0;
  const part = value as Record<string, unknown>;
  if (typeof part.text === "string") return part.text.length;
  // Anthropic tool_use carries its arguments as `input`, tool_result its output as `content`.
  return textChars(part.content) + jsonChars(part.input);
}

/** The body came from JSON.parse, so it serialises again without fail. */
function jsonChars(value: unknown): number {
  return value === undefined || value === null ? 0 : JSON.stringify(value).length;
}
