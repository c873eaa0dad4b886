// Deterministic token usage and completion text: pure and exported, so tests can compute what the mock reports.
//
// mockUsage computes usage from the body the mock receives, i.e. with the upstream model name:
//   input  = max(1, ceil(C / 4)), C = characters of `system`, of every message's `content` (strings, or the `text`
//            of content parts/blocks) and of embeddings `input` (a token id counts as 4 characters);
//   output = min(chunks, max_tokens ?? max_completion_tokens) for chat and messages, 0 otherwise;
//   cached = min(cachedTokens, input).
// OpenAI reports prompt_tokens = input (cached included, as prompt_tokens_details.cached_tokens); Anthropic reports
// input_tokens = input - cached and cache_read_input_tokens = cached, as the real APIs split them; count_tokens
// answers {"input_tokens": input}. A stream cut by a failure control carries no final usage.
import { type MockBehavior, resolveBehavior } from "./behavior.ts";
import type { MockEndpoint } from "./exchange.ts";

/** The text of every content chunk; a completion's text is this repeated once per output token. */
export const MOCK_CHUNK_TEXT = "tok ";

/** How many content chunks of the mock a client's text (whole or partial, any wire format) holds. */
export function mockChunksIn(text: string): number {
  return text.split(MOCK_CHUNK_TEXT).length - 1;
}

export interface MockUsage {
  /** All input tokens, cached ones included (OpenAI prompt_tokens). */
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
}

function textLength(value: unknown): number {
  if (typeof value === "string") return value.length;
  if (typeof value === "number") return 4; // a token id (embeddings input) counts as one token
  if (Array.isArray(value)) {
    let n = 0;
    for (const item of value) n += textLength(item);
    return n;
  }
  if (value !== null && typeof value === "object") {
    const text = (value as { text?: unknown }).text;
    return typeof text === "string" ? text.length : 0;
  }
  return 0;
}

/** max(1, ceil(characters / 4)) over `system`, each message's `content` (strings or parts' `text`) and `input`. */
export function mockInputTokens(body: unknown): number {
  let chars = 0;
  if (body !== null && typeof body === "object") {
    const b = body as { system?: unknown; messages?: unknown; input?: unknown };
    chars += textLength(b.system) + textLength(b.input);
    if (Array.isArray(b.messages)) for (const m of b.messages) chars += textLength((m as { content?: unknown } | null)?.content);
  }
  return Math.max(1, Math.ceil(chars / 4));
}

/** min(chunks, max_tokens or max_completion_tokens when given). */
export function mockOutputTokens(body: unknown, chunks: number): number {
  const b = (body ?? {}) as { max_tokens?: unknown; max_completion_tokens?: unknown };
  const cap = typeof b.max_tokens === "number" ? b.max_tokens : typeof b.max_completion_tokens === "number" ? b.max_completion_tokens : Infinity;
  return Math.max(0, Math.min(chunks, cap));
}

/** What the mock reports for a request (embeddings and count_tokens have no output). */
export function mockUsage(endpoint: MockEndpoint, body: unknown, behavior: MockBehavior = resolveBehavior(body)): MockUsage {
  const inputTokens = mockInputTokens(body);
  const outputTokens = endpoint === "chat" || endpoint === "messages" ? mockOutputTokens(body, behavior.chunks) : 0;
  return { inputTokens, outputTokens, cachedTokens: Math.min(behavior.cachedTokens, inputTokens) };
}

export function mockCompletionText(outputTokens: number): string {
  return MOCK_CHUNK_TEXT.repeat(outputTokens);
}
