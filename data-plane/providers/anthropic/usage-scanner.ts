// Usage of Anthropic Messages responses: JSON, or SSE where message_start and message_delta carry the counts.
import type { EndpointKind, UsageCounts, UsageScanner } from "../../contracts.ts";
import { ByteNeedle } from "../byte-needle.ts";
import { JsonUsageScanner } from "../json-usage-scanner.ts";
import { SseUsageScanner } from "../sse-usage-scanner.ts";
import { isObject, tokenCount, zeroUsage } from "../usage-marker.ts";

const EMPTY = Buffer.alloc(0);

/**
 * Anthropic's input_tokens exclude cache writes and reads; UsageCounts' input includes every input token, with the
 * cache reads also reported as cached (billed at the cached price), as shared/money.ts costMicros expects.
 */
export function readAnthropicUsage(usage: Record<string, unknown>): UsageCounts {
  const cacheRead = tokenCount(usage.cache_read_input_tokens);
  return {
    inputTokens: tokenCount(usage.input_tokens) + tokenCount(usage.cache_creation_input_tokens) + cacheRead,
    outputTokens: tokenCount(usage.output_tokens),
    cachedTokens: cacheRead,
  };
}

/** Every content_block_delta (text, thinking, tool input JSON) has this as its `type` value. */
const OUTPUT_MARKERS = [new ByteNeedle('"content_block_delta"')];
/** Anthropic's in-stream failure (e.g. overloaded_error) is an `error` event. */
const ERROR_STARTS = ["event: error", "event:error"].map((start) => Buffer.from(start));

/**
 * message_start has message.usage (input, cache, a first output count); each message_delta has usage with cumulative
 * output_tokens (and, on newer API versions, cumulative input counts), so the last value seen of each field wins.
 * The output count is final only from message_delta on: before it complete() is false, usage() holds what
 * message_start reported, and producedEvents() counts the content_block_delta events.
 */
export class AnthropicStreamUsageScanner extends SseUsageScanner {
  private readonly latest: Record<string, unknown> = {};
  private reported = false;

  constructor() {
    super(false, OUTPUT_MARKERS, ERROR_STARTS);
  }

  protected onUsageEvent(data: unknown): boolean {
    if (!isObject(data)) return false;
    const usage = data.type === "message_start" && isObject(data.message) ? data.message.usage : data.usage;
    if (!isObject(usage)) return false;
    if (data.type === "message_delta") this.reported = true;
    for (const key in usage) {
      if (typeof usage[key] === "number") this.latest[key] = usage[key];
    }
    return false;
  }

  usage(): UsageCounts {
    return readAnthropicUsage(this.latest);
  }

  complete(): boolean {
    return this.reported;
  }
}

/** count_tokens is free: its body is relayed as is and nothing is charged. */
class NoUsageScanner implements UsageScanner {
  push(chunk: Buffer): Buffer {
    return chunk;
  }
  flush(): Buffer {
    return EMPTY;
  }
  usage(): UsageCounts {
    return zeroUsage();
  }
  complete(): boolean {
    return true;
  }
  producedEvents(): number {
    return 0;
  }
  providerFailed(): boolean {
    return false;
  }
}

export function anthropicUsageScanner(endpoint: EndpointKind, stream: boolean): UsageScanner {
  if (endpoint === "count_tokens") return new NoUsageScanner();
  if (stream) return new AnthropicStreamUsageScanner();
  return new JsonUsageScanner(readAnthropicUsage);
}
