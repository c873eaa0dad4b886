// Usage of OpenAI-format responses: chat (JSON or SSE with `stream_options.include_usage`) and embeddings.
import type { EndpointKind, UsageCounts, UsageScanner } from "../../contracts.ts";
import { ByteNeedle } from "../byte-needle.ts";
import { JsonUsageScanner } from "../json-usage-scanner.ts";
import { SseUsageScanner } from "../sse-usage-scanner.ts";
import { isObject, tokenCount, zeroUsage } from "../usage-marker.ts";

/** prompt_tokens already include the cached ones, which is the convention of UsageCounts. */
export function readOpenAiUsage(usage: Record<string, unknown>): UsageCounts {
  const inputTokens = tokenCount(usage.prompt_tokens);
  const details = usage.prompt_tokens_details;
  const cached = isObject(details) ? tokenCount(details.cached_tokens) : 0;
  return { inputTokens, outputTokens: tokenCount(usage.completion_tokens), cachedTokens: Math.min(cached, inputTokens) };
}

/**
 * What makes a chunk a content delta: a non-empty `content` (also matching `reasoning_content`, which is output too)
 * or tool-call `arguments` string, compact or with the space Python's json.dumps puts after colons. The role chunk
 * (`"content":""`), finish and filter chunks, the usage chunk and `[DONE]` do not count.
 */
const OUTPUT_MARKERS = ['content":"', 'arguments":"', 'content": "', 'arguments": "'].map((marker) => new ByteNeedle(marker));

/** OpenAI's in-stream failure is a data line holding an `error` object (the SDK raises it). */
const ERROR_STARTS = ['data: {"error"', 'data:{"error"'].map((start) => Buffer.from(start));

/**
 * SSE chat stream. The usage chunk comes last, before `data: [DONE]`, with `choices: []` (some servers send
 * `choices: null` or omit it); with `hideUsageChunk` that event is removed from the bytes forwarded to the client.
 * Until that chunk the stream's usage is unknown: complete() is false and producedEvents() counts the content deltas.
 */
export class OpenAiStreamUsageScanner extends SseUsageScanner {
  private counts = zeroUsage();
  private reported = false;

  constructor(private readonly hideUsageChunk: boolean) {
    super(hideUsageChunk, OUTPUT_MARKERS, ERROR_STARTS);
  }

  protected onUsageEvent(data: unknown): boolean {
    if (!isObject(data) || !isObject(data.usage)) return false;
    this.counts = readOpenAiUsage(data.usage);
    this.reported = true;
    const choices = data.choices;
    const usageOnly = choices == null || (Array.isArray(choices) && choices.length === 0);
    return this.hideUsageChunk && usageOnly;
  }

  usage(): UsageCounts {
    return this.counts;
  }

  complete(): boolean {
    return this.reported;
  }
}

export function openAiUsageScanner(endpoint: EndpointKind, stream: boolean, hideInjectedUsage: boolean): UsageScanner {
  if (endpoint === "chat" && stream) return new OpenAiStreamUsageScanner(hideInjectedUsage);
  return new JsonUsageScanner(readOpenAiUsage);
}
