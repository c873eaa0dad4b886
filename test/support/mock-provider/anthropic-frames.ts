// Anthropic wire format: error bodies, messages, SSE events and count_tokens.
import type { Frames } from "./stream.ts";
import { MOCK_CHUNK_TEXT, type MockUsage, mockCompletionText } from "./usage.ts";

const ANTHROPIC_ERRORS: Record<number, [type: string, message: string]> = {
  400: ["invalid_request_error", "Invalid request."],
  401: ["authentication_error", "invalid x-api-key"],
  403: ["permission_error", "Your API key does not have permission to use the specified resource."],
  404: ["not_found_error", "The requested resource could not be found."],
  413: ["request_too_large", "Request exceeds the maximum allowed number of bytes."],
  429: ["rate_limit_error", "Number of requests has exceeded your rate limit."],
  500: ["api_error", "Internal server error"],
  529: ["overloaded_error", "Overloaded"],
};

export function anthropicErrorBody(status: number, message?: string): string {
  const [type, text] = ANTHROPIC_ERRORS[status] ?? [status >= 500 ? "api_error" : "invalid_request_error", `Mock error ${status}`];
  return JSON.stringify({ type: "error", error: { type, message: message ?? text } });
}

// What Anthropic sends inside a 200 stream when it fails: the SDK turns it into an error.
const STREAM_ERROR = Buffer.from(`event: error\ndata: ${anthropicErrorBody(529)}\n\n`);

// The real API splits input into uncached input_tokens and cache_read_input_tokens.
function anthropicUsageJson(u: MockUsage, outputTokens: number): string {
  return `{"input_tokens":${u.inputTokens - u.cachedTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":${u.cachedTokens},"output_tokens":${outputTokens}}`;
}

/** A non-stream message; `model` is already JSON-encoded. */
export function anthropicMessageJson(id: string, model: string, u: MockUsage, stop: string): string {
  const text = mockCompletionText(u.outputTokens);
  return `{"id":"${id}","type":"message","role":"assistant","model":${model},"content":[{"type":"text","text":"${text}"}],"stop_reason":"${stop}","stop_sequence":null,"usage":${anthropicUsageJson(u, u.outputTokens)}}`;
}

/** A streamed message; `model` is already JSON-encoded. */
export function anthropicFrames(id: string, model: string, u: MockUsage, stop: string): Frames {
  // message_start carries the input side and a provisional output count of 1; message_delta carries the final output.
  const start = `{"type":"message_start","message":{"id":"${id}","type":"message","role":"assistant","model":${model},"content":[],"stop_reason":null,"stop_sequence":null,"usage":${anthropicUsageJson(u, 1)}}}`;
  return {
    opening: Buffer.from(
      `event: message_start\ndata: ${start}\n\n` +
        `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n` +
        `event: ping\ndata: {"type": "ping"}\n\n`,
    ),
    piece: Buffer.from(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${MOCK_CHUNK_TEXT}"}}\n\n`),
    closing: Buffer.from(
      `event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n` +
        `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"${stop}","stop_sequence":null},"usage":{"output_tokens":${u.outputTokens}}}\n\n` +
        `event: message_stop\ndata: {"type":"message_stop"}\n\n`,
    ),
    error: STREAM_ERROR,
  };
}

export function anthropicCountTokensJson(u: MockUsage): string {
  return `{"input_tokens":${u.inputTokens}}`;
}
