// OpenAI (and Azure OpenAI) wire format: error bodies, completions, SSE chunks, embeddings and the model list.
import type { Frames } from "./stream.ts";
import { MOCK_CHUNK_TEXT, type MockUsage, mockCompletionText } from "./usage.ts";

const OPENAI_ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Invalid request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  403: ["invalid_request_error", "permission_denied", "You are not allowed to use this model."],
  404: ["invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."],
  429: ["requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."],
  500: ["server_error", null, "The server had an error while processing your request. Sorry about that!"],
  503: ["server_error", "service_unavailable", "The engine is currently overloaded, please try again later."],
};

export function openaiErrorBody(status: number, message?: string): string {
  const [type, code, text] = OPENAI_ERRORS[status] ?? [status >= 500 ? "server_error" : "invalid_request_error", null, `Mock error ${status}`];
  return JSON.stringify({ error: { message: message ?? text, type, param: null, code } });
}

// What OpenAI sends inside a 200 stream when it fails: the SDK turns it into an error.
const STREAM_ERROR = Buffer.from(`data: ${openaiErrorBody(500)}\n\n`);

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function openaiUsageJson(u: MockUsage): string {
  return `{"prompt_tokens":${u.inputTokens},"completion_tokens":${u.outputTokens},"total_tokens":${u.inputTokens + u.outputTokens},"prompt_tokens_details":{"cached_tokens":${u.cachedTokens},"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`;
}

/** A non-stream chat completion; `model` is already JSON-encoded. */
export function openaiCompletionJson(id: string, model: string, u: MockUsage, finish: string, created = nowSeconds()): string {
  const text = mockCompletionText(u.outputTokens);
  return `{"id":"${id}","object":"chat.completion","created":${created},"model":${model},"choices":[{"index":0,"message":{"role":"assistant","content":"${text}","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"${finish}"}],"usage":${openaiUsageJson(u)},"service_tier":"default","system_fingerprint":null}`;
}

/** A streamed chat completion; `model` is already JSON-encoded. */
export function openaiFrames(id: string, model: string, body: any, u: MockUsage, finish: string, created = nowSeconds()): Frames {
  const includeUsage = body.stream_options?.include_usage === true;
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${model},"system_fingerprint":null,"choices":[`;
  // With include_usage every chunk carries "usage":null and one last chunk has empty choices and the usage.
  const tail = includeUsage ? `],"usage":null}\n\n` : `]}\n\n`;
  const usageChunk = includeUsage ? `${head}],"usage":${openaiUsageJson(u)}}\n\n` : "";
  return {
    opening: Buffer.from(`${head}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${tail}`),
    piece: Buffer.from(`${head}{"index":0,"delta":{"content":"${MOCK_CHUNK_TEXT}"},"logprobs":null,"finish_reason":null}${tail}`),
    closing: Buffer.from(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finish}"}${tail}${usageChunk}data: [DONE]\n\n`),
    error: STREAM_ERROR,
  };
}

// Deterministic embedding vectors, encoded once per dimension count (the openai SDK asks for base64 by default).
const embeddingCache = new Map<string, string>();
function embeddingValue(dimensions: number, base64: boolean): string {
  const key = `${dimensions}:${base64}`;
  let value = embeddingCache.get(key);
  if (value === undefined) {
    const v = new Float32Array(dimensions);
    for (let i = 0; i < dimensions; i++) v[i] = Math.sin(i + 1);
    value = base64 ? `"${Buffer.from(v.buffer).toString("base64")}"` : `[${Array.from(v).join(",")}]`;
    embeddingCache.set(key, value);
  }
  return value;
}

function embeddingCount(input: unknown): number {
  if (!Array.isArray(input)) return 1;
  return input.length > 0 && input.every((item) => typeof item === "number") ? 1 : input.length;
}

/** An embeddings answer: one vector per input (a token-id array is one input); `model` is already JSON-encoded. */
export function openaiEmbeddingsJson(body: any, model: string, u: MockUsage): string {
  const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 && body.dimensions <= 8192 ? body.dimensions : 8;
  const value = embeddingValue(dims, body.encoding_format === "base64");
  const data: string[] = [];
  for (let i = 0, n = embeddingCount(body.input); i < n; i++) data.push(`{"object":"embedding","index":${i},"embedding":${value}}`);
  return `{"object":"list","data":[${data.join(",")}],"model":${model},"usage":{"prompt_tokens":${u.inputTokens},"total_tokens":${u.inputTokens}}}`;
}

/** The GET /v1/models answer, built once per server. */
export function openaiModelsJson(models: string[]): string {
  return JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "mock" })) });
}
