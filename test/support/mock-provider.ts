// A stand-in for OpenAI, Azure OpenAI and Anthropic in tests and benchmarks: their real wire formats, deterministic
// usage, and per-request controls for latency, error statuses, mid-stream failures and hangs.
//
// Controls (later sources win): startMockProvider({ defaults }) / setDefaults() < the model name (or Azure deployment)
// < a JSON object in `metadata.mock`, `metadata.user_id` or `user` < `x-mock-*` request headers. The gateway does not
// forward unknown headers, so through the gateway use the model name or the JSON field.
//   model name:  tokens split on "-": chunks-N delay-MS ttfb-MS status-CODE retry-S fail-N failevent-N cached-N hang
//                e.g. "mock-chunks-64-delay-20", "mock-status-429-retry-2", "mock-failevent-3", "mock-hang"
//   JSON:        {"chunks":64,"delayMs":20,"ttfbMs":0,"status":429,"retryAfter":2,"failAfter":3,"failMode":"event",
//                 "hang":true,"cachedTokens":10}, either bare or as {"mock":{...}}
//   headers:     x-mock-chunks, x-mock-delay-ms, x-mock-ttfb-ms, x-mock-status, x-mock-retry-after, x-mock-fail-after,
//                x-mock-fail-mode (destroy|event), x-mock-hang (1|true), x-mock-cached-tokens
//
// Usage (mockUsage computes it from the body the mock receives, i.e. with the upstream model name):
//   input  = max(1, ceil(C / 4)), C = characters of `system`, of every message's `content` (strings, or the `text`
//            of content parts/blocks) and of embeddings `input` (a token id counts as 4 characters);
//   output = min(chunks, max_tokens ?? max_completion_tokens) for chat and messages, 0 otherwise;
//   cached = min(cachedTokens, input).
// OpenAI reports prompt_tokens = input (cached included, as prompt_tokens_details.cached_tokens); Anthropic reports
// input_tokens = input - cached and cache_read_input_tokens = cached, as the real APIs split them; count_tokens
// answers {"input_tokens": input}. A stream cut by a failure control carries no final usage.
//
// Like the real services it rejects what they reject: /v1/messages without `anthropic-version` or `max_tokens` (400),
// an Azure URL without `api-version` (404), unknown routes (404), bodies that are not JSON objects (400).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type FailMode = "destroy" | "event";
export type MockEndpoint = "chat" | "embeddings" | "models" | "messages" | "count_tokens";

export interface MockBehavior {
  /** Content chunks a completion produces: one SSE content event each, and the output token count (capped by max_tokens). */
  chunks: number;
  /** Generation time per content chunk (ms), waited before each one; a non-stream answer waits chunks × delayMs. */
  delayMs: number;
  /** Wait before anything is answered (ms). */
  ttfbMs: number;
  /** Answer with this HTTP status (≥ 400) and the provider's error JSON, before any byte of a result. */
  status: number | null;
  /** Seconds for a Retry-After header on an error status. */
  retryAfter: number | null;
  /** Fail after this many content chunks (≤ the output tokens; equal means after all content but before usage). */
  failAfter: number | null;
  /** destroy: flush what was sent and close the connection mid-body; event: send the provider's stream error event and end. */
  failMode: FailMode;
  /** Never answer; the client's eventual disconnect is recorded. */
  hang: boolean;
  /** Input tokens reported as read from the prompt cache (capped at the input tokens). */
  cachedTokens: number;
}

export const DEFAULT_MOCK_BEHAVIOR: Readonly<MockBehavior> = Object.freeze({
  chunks: 8,
  delayMs: 0,
  ttfbMs: 0,
  status: null,
  retryAfter: null,
  failAfter: null,
  failMode: "destroy",
  hang: false,
  cachedTokens: 0,
});

/** The text of every content chunk; a completion's text is this repeated once per output token. */
export const MOCK_CHUNK_TEXT = "tok ";

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (null for GET or an unparsable body). */
  body: any;
  endpoint: MockEndpoint | null;
  /** The provider credential the caller sent: Authorization bearer, x-api-key or api-key, in that order. */
  credential: string | null;
  /** Azure deployment from the URL, else null. */
  deployment: string | null;
  stream: boolean;
  behavior: MockBehavior;
  /** Status the mock answered with (0 while nothing was sent). */
  status: number;
  contentChunksSent: number;
  /** How often a write hit backpressure and the mock waited for 'drain'. */
  drainWaits: number;
  /** The client went away before the mock finished its response. */
  clientAborted: boolean;
  /** Settles when the response is finished or the connection is gone. */
  closed: Promise<void>;
}

export interface MockProviderOptions {
  port?: number;
  host?: string;
  defaults?: Partial<MockBehavior>;
  /** When set, requests without exactly this credential get the provider's 401. */
  requireCredential?: string;
  /** Ids served by GET /v1/models. */
  models?: string[];
  /** Keep every request in `requests` (default true; benchmarks turn it off to keep memory flat). */
  record?: boolean;
}

export interface MockProviderStats {
  requests: number;
  clientAborts: number;
  drainWaits: number;
}

export interface MockProvider {
  /** Origin, e.g. http://127.0.0.1:PORT (OpenAI SDK baseURL: url + "/v1"; Anthropic and Azure: url). */
  url: string;
  requests: RecordedRequest[];
  stats: MockProviderStats;
  setDefaults(defaults: Partial<MockBehavior>): void;
  /** Forgets recorded requests and stats, and restores the defaults given at start. */
  reset(): void;
  close(): Promise<void>;
}

export interface MockUsage {
  /** All input tokens, cached ones included (OpenAI prompt_tokens). */
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
}

// ---- usage: pure and exported so tests can compute what the mock reports ----

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

// ---- behaviour controls ----

const MODEL_KEYS: Record<string, (b: Partial<MockBehavior>, n: number) => void> = {
  chunks: (b, n) => (b.chunks = n),
  delay: (b, n) => (b.delayMs = n),
  ttfb: (b, n) => (b.ttfbMs = n),
  status: (b, n) => (b.status = n),
  retry: (b, n) => (b.retryAfter = n),
  fail: (b, n) => ((b.failAfter = n), (b.failMode = "destroy")),
  failevent: (b, n) => ((b.failAfter = n), (b.failMode = "event")),
  cached: (b, n) => (b.cachedTokens = n),
};
// Benchmarks send the same model names over and over: parse each once.
const modelControlCache = new Map<string, Partial<MockBehavior>>();

function modelControls(model: string): Partial<MockBehavior> {
  let found = modelControlCache.get(model);
  if (found) return found;
  found = {};
  const tokens = model.split("-");
  for (let i = 0; i < tokens.length; i++) {
    const key = tokens[i]!;
    if (key === "hang") found.hang = true;
    const apply = MODEL_KEYS[key];
    const next = tokens[i + 1];
    if (apply && next !== undefined && /^\d+$/.test(next)) apply(found, Number(next)), i++;
  }
  if (modelControlCache.size > 10_000) modelControlCache.clear();
  modelControlCache.set(model, found);
  return found;
}

function jsonControls(body: any): Partial<MockBehavior> | null {
  const candidates = [body?.metadata?.mock, body?.metadata?.user_id, body?.user];
  for (const c of candidates) {
    let value: unknown = c;
    if (typeof c === "string" && c.startsWith("{")) {
      try {
        value = JSON.parse(c);
      } catch {
        continue;
      }
    }
    if (value !== null && typeof value === "object") {
      const inner = (value as { mock?: unknown }).mock;
      return pickBehavior(inner !== null && typeof inner === "object" ? inner : value);
    }
  }
  return null;
}

function pickBehavior(source: object): Partial<MockBehavior> {
  const out: Partial<MockBehavior> = {};
  const s = source as Record<string, unknown>;
  for (const key of ["chunks", "delayMs", "ttfbMs", "status", "retryAfter", "failAfter", "cachedTokens"] as const) {
    const v = s[key];
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (v === null && (key === "status" || key === "retryAfter" || key === "failAfter")) out[key] = null;
  }
  if (s.failMode === "destroy" || s.failMode === "event") out.failMode = s.failMode;
  if (typeof s.hang === "boolean") out.hang = s.hang;
  return out;
}

const HEADER_NUMBERS = [
  ["x-mock-chunks", "chunks"],
  ["x-mock-delay-ms", "delayMs"],
  ["x-mock-ttfb-ms", "ttfbMs"],
  ["x-mock-status", "status"],
  ["x-mock-retry-after", "retryAfter"],
  ["x-mock-fail-after", "failAfter"],
  ["x-mock-cached-tokens", "cachedTokens"],
] as const;

function headerControls(headers: IncomingHttpHeaders, into: MockBehavior): void {
  for (const [name, key] of HEADER_NUMBERS) {
    const v = headers[name];
    if (typeof v === "string" && v !== "" && Number.isFinite(Number(v))) into[key] = Number(v);
  }
  const mode = headers["x-mock-fail-mode"];
  if (mode === "destroy" || mode === "event") into.failMode = mode;
  const hang = headers["x-mock-hang"];
  if (hang !== undefined) into.hang = hang === "1" || hang === "true";
}

/** The behaviour the mock applies to a request (exported so tests can predict usage for controlled requests). */
export function resolveBehavior(
  body: unknown,
  headers: IncomingHttpHeaders = {},
  defaults: Readonly<MockBehavior> = DEFAULT_MOCK_BEHAVIOR,
  deployment: string | null = null,
): MockBehavior {
  const b = { ...defaults };
  if (deployment) Object.assign(b, modelControls(deployment));
  const model = (body as { model?: unknown } | null)?.model;
  if (typeof model === "string") Object.assign(b, modelControls(model));
  const json = jsonControls(body);
  if (json) Object.assign(b, json);
  if (hasMockHeader(headers)) headerControls(headers, b);
  return b;
}

function hasMockHeader(headers: IncomingHttpHeaders): boolean {
  for (const name in headers) if (name.startsWith("x-mock-")) return true;
  return false;
}

// ---- wire formats: the hot-path pieces are built once per request as strings and written as Buffers ----

type WireFormat = "openai" | "anthropic";

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

const OPENAI_ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ["invalid_request_error", null, "Invalid request."],
  401: ["invalid_request_error", "invalid_api_key", "Incorrect API key provided."],
  403: ["invalid_request_error", "permission_denied", "You are not allowed to use this model."],
  404: ["invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."],
  429: ["requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."],
  500: ["server_error", null, "The server had an error while processing your request. Sorry about that!"],
  503: ["server_error", "service_unavailable", "The engine is currently overloaded, please try again later."],
};
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

function errorBody(format: WireFormat, status: number, message?: string): string {
  if (format === "anthropic") {
    const [type, text] = ANTHROPIC_ERRORS[status] ?? [status >= 500 ? "api_error" : "invalid_request_error", `Mock error ${status}`];
    return JSON.stringify({ type: "error", error: { type, message: message ?? text } });
  }
  const [type, code, text] = OPENAI_ERRORS[status] ?? [status >= 500 ? "server_error" : "invalid_request_error", null, `Mock error ${status}`];
  return JSON.stringify({ error: { message: message ?? text, type, param: null, code } });
}

// What each provider sends inside a 200 stream when it fails: the SDKs turn these into errors.
const STREAM_ERROR: Record<WireFormat, Buffer> = {
  openai: Buffer.from(`data: ${errorBody("openai", 500)}\n\n`),
  anthropic: Buffer.from(`event: error\ndata: ${errorBody("anthropic", 529)}\n\n`),
};

function openaiUsageJson(u: MockUsage): string {
  return `{"prompt_tokens":${u.inputTokens},"completion_tokens":${u.outputTokens},"total_tokens":${u.inputTokens + u.outputTokens},"prompt_tokens_details":{"cached_tokens":${u.cachedTokens},"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`;
}

function anthropicUsageJson(u: MockUsage, outputTokens: number): string {
  return `{"input_tokens":${u.inputTokens - u.cachedTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":${u.cachedTokens},"output_tokens":${outputTokens}}`;
}

interface Frames {
  opening: Buffer;
  piece: Buffer;
  closing: Buffer;
  error: Buffer;
}

function openaiFrames(id: string, model: string, body: any, u: MockUsage, finish: string): Frames {
  const includeUsage = body.stream_options?.include_usage === true;
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${nowSeconds()},"model":${model},"system_fingerprint":null,"choices":[`;
  // With include_usage every chunk carries "usage":null and one last chunk has empty choices and the usage.
  const tail = includeUsage ? `],"usage":null}\n\n` : `]}\n\n`;
  const usageChunk = includeUsage ? `${head}],"usage":${openaiUsageJson(u)}}\n\n` : "";
  return {
    opening: Buffer.from(`${head}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${tail}`),
    piece: Buffer.from(`${head}{"index":0,"delta":{"content":"${MOCK_CHUNK_TEXT}"},"logprobs":null,"finish_reason":null}${tail}`),
    closing: Buffer.from(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finish}"}${tail}${usageChunk}data: [DONE]\n\n`),
    error: STREAM_ERROR.openai,
  };
}

function anthropicFrames(id: string, model: string, u: MockUsage, stop: string): Frames {
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
    error: STREAM_ERROR.anthropic,
  };
}

const BATCH_BYTES = 16 * 1024;

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
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

// ---- the server ----

interface ServerState {
  defaults: MockBehavior;
  requireCredential: string | undefined;
  modelsJson: string;
  record: boolean;
  requests: RecordedRequest[];
  stats: MockProviderStats;
  seq: number;
  closing: boolean;
}

/** One request in flight. */
interface Exchange {
  state: ServerState;
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  /** The connection is gone (client abort, our own cut, or shutdown). */
  gone: boolean;
  cutByMock: boolean;
}

function routeOf(method: string, path: string): { endpoint: MockEndpoint; deployment: string | null } | null {
  if (method === "POST") {
    if (path === "/v1/chat/completions") return { endpoint: "chat", deployment: null };
    if (path === "/v1/messages") return { endpoint: "messages", deployment: null };
    if (path === "/v1/embeddings") return { endpoint: "embeddings", deployment: null };
    if (path === "/v1/messages/count_tokens") return { endpoint: "count_tokens", deployment: null };
    const azure = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(path);
    if (azure) return { endpoint: azure[2] === "embeddings" ? "embeddings" : "chat", deployment: decodeURIComponent(azure[1]!) };
  }
  if (method === "GET" && path === "/v1/models") return { endpoint: "models", deployment: null };
  return null;
}

function credentialOf(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === "string") return auth.startsWith("Bearer ") ? auth.slice(7) : auth;
  const key = headers["x-api-key"] ?? headers["api-key"];
  return typeof key === "string" ? key : null;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function sendJson(x: Exchange, status: number, json: string, headers?: Record<string, string>): void {
  x.rec.status = status;
  x.res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers });
  x.res.end(json);
}

function sendError(x: Exchange, format: WireFormat, status: number, message?: string): void {
  const retryAfter = x.rec.behavior.retryAfter;
  const headers: Record<string, string> = format === "anthropic" ? { "request-id": `req_mock${x.rec.seq}` } : { "x-request-id": `req_mock${x.rec.seq}` };
  if (retryAfter !== null) headers["retry-after"] = String(retryAfter);
  sendJson(x, status, errorBody(format, status, message), headers);
}

/** Flushes what was written, then closes the connection without finishing the body: the client sees a truncated response. */
function cutConnection(x: Exchange): void {
  x.cutByMock = true;
  const socket = x.res.socket;
  if (!socket) return;
  socket.once("finish", () => socket.destroy());
  socket.end();
}

function drained(x: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      x.res.off("drain", done);
      x.res.off("close", done);
      resolve();
    };
    x.res.on("drain", done);
    x.res.on("close", done);
  });
}

/** Writes opening, one piece per output token (delayed, failing, honouring backpressure), then closing. */
async function pump(x: Exchange, frames: Frames, outputTokens: number): Promise<void> {
  const { res, rec } = x;
  const { delayMs, failAfter, failMode } = rec.behavior;
  const failAt = failAfter !== null && failAfter <= outputTokens ? failAfter : -1;
  rec.status = 200;
  res.writeHead(200, SSE_HEADERS);
  // Cork bursts so a fast stream goes out in few syscalls; uncork before every wait or the bytes would sit here.
  let corked = true;
  res.cork();
  const release = (): void => {
    if (corked) (corked = false), res.uncork();
  };
  const waitDrain = async (): Promise<boolean> => {
    release();
    rec.drainWaits++;
    x.state.stats.drainWaits++;
    await drained(x);
    if (x.gone) return false;
    res.cork(), (corked = true);
    return true;
  };
  if (!res.write(frames.opening) && !(await waitDrain())) return;
  // Without a delay, pieces go out in ~16 KiB batches (one copy per request, not one write per piece): the bytes on
  // the wire are the same as corked single writes, at a fraction of the cost, and backpressure still applies per batch.
  const stop = failAt === -1 ? outputTokens : failAt;
  const perBatch = delayMs === 0 ? Math.max(1, Math.min(stop, Math.floor(BATCH_BYTES / frames.piece.length))) : 1;
  const batch = perBatch > 1 ? Buffer.concat(new Array<Buffer>(perBatch).fill(frames.piece)) : frames.piece;
  while (rec.contentChunksSent < stop) {
    if (delayMs > 0) {
      release();
      await sleep(delayMs);
      if (x.gone) return;
      res.cork(), (corked = true);
    }
    const n = Math.min(perBatch, stop - rec.contentChunksSent);
    const ok = res.write(n === perBatch ? batch : batch.subarray(0, n * frames.piece.length));
    rec.contentChunksSent += n;
    if (!ok && !(await waitDrain())) return;
  }
  release();
  if (failAt === -1) res.end(frames.closing);
  else if (failMode === "event") res.end(frames.error);
  else cutConnection(x);
}

function validate(x: Exchange, endpoint: MockEndpoint, deployment: string | null): string | null {
  const body = x.rec.body;
  if (endpoint === "models") return null;
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The request body must be a JSON object.";
  if (deployment === null && typeof body.model !== "string") return "model: Field required";
  if (endpoint === "embeddings") return body.input === undefined ? "input: Field required" : null;
  if (!Array.isArray(body.messages)) return "messages: Field required";
  if (endpoint === "messages" || endpoint === "count_tokens") {
    if (typeof x.req.headers["anthropic-version"] !== "string") return "anthropic-version: header is required";
    if (endpoint === "messages" && typeof body.max_tokens !== "number") return "max_tokens: Field required";
  }
  return null;
}

async function respond(x: Exchange, endpoint: MockEndpoint, deployment: string | null, format: WireFormat): Promise<void> {
  const { rec } = x;
  const body = rec.body;
  const behavior = rec.behavior;
  const model = JSON.stringify(typeof body?.model === "string" ? body.model : (deployment ?? "mock"));
  if (endpoint === "models") return sendJson(x, 200, x.state.modelsJson);
  const usage = mockUsage(endpoint, body, behavior);
  if (endpoint === "count_tokens") return sendJson(x, 200, `{"input_tokens":${usage.inputTokens}}`);
  if (endpoint === "embeddings") {
    const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 && body.dimensions <= 8192 ? body.dimensions : 8;
    const value = embeddingValue(dims, body.encoding_format === "base64");
    const data: string[] = [];
    for (let i = 0, n = embeddingCount(body.input); i < n; i++) data.push(`{"object":"embedding","index":${i},"embedding":${value}}`);
    return sendJson(x, 200, `{"object":"list","data":[${data.join(",")}],"model":${model},"usage":{"prompt_tokens":${usage.inputTokens},"total_tokens":${usage.inputTokens}}}`);
  }
  const out = usage.outputTokens;
  const truncated = out < behavior.chunks;
  const id = format === "openai" ? `chatcmpl-mock${rec.seq}` : `msg_mock${rec.seq}`;
  if (body.stream === true) {
    rec.stream = true;
    const frames =
      format === "openai" ? openaiFrames(id, model, body, usage, truncated ? "length" : "stop") : anthropicFrames(id, model, usage, truncated ? "max_tokens" : "end_turn");
    return pump(x, frames, out);
  }
  // A non-stream answer takes as long as generating every chunk would.
  if (behavior.delayMs > 0 && out > 0) {
    await sleep(behavior.delayMs * out);
    if (x.gone) return;
  }
  const text = mockCompletionText(out);
  const json =
    format === "openai"
      ? `{"id":"${id}","object":"chat.completion","created":${nowSeconds()},"model":${model},"choices":[{"index":0,"message":{"role":"assistant","content":"${text}","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"${truncated ? "length" : "stop"}"}],"usage":${openaiUsageJson(usage)},"service_tier":"default","system_fingerprint":null}`
      : `{"id":"${id}","type":"message","role":"assistant","model":${model},"content":[{"type":"text","text":"${text}"}],"stop_reason":"${truncated ? "max_tokens" : "end_turn"}","stop_sequence":null,"usage":${anthropicUsageJson(usage, out)}}`;
  if (behavior.failAfter !== null && behavior.failAfter <= out) {
    if (behavior.failMode === "event") return sendError(x, format, format === "openai" ? 500 : 529);
    // Promise the whole body, send half of it, then cut.
    rec.status = 200;
    x.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
    x.res.write(json.slice(0, json.length >> 1));
    return cutConnection(x);
  }
  sendJson(x, 200, json);
}

async function handle(state: ServerState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const route = routeOf(method, path);
  const rec: RecordedRequest = {
    seq: ++state.seq,
    method,
    path,
    query: q === -1 ? {} : Object.fromEntries(new URLSearchParams(url.slice(q + 1))),
    headers: req.headers,
    body: null,
    endpoint: route?.endpoint ?? null,
    credential: credentialOf(req.headers),
    deployment: route?.deployment ?? null,
    stream: false,
    behavior: state.defaults,
    status: 0,
    contentChunksSent: 0,
    drainWaits: 0,
    clientAborted: false,
    closed: undefined as unknown as Promise<void>,
  };
  const x: Exchange = { state, req, res, rec, gone: false, cutByMock: false };
  rec.closed = new Promise((resolve) => {
    res.on("close", () => {
      x.gone = true;
      if (!res.writableEnded && !x.cutByMock && !state.closing) {
        rec.clientAborted = true;
        state.stats.clientAborts++;
      }
      resolve();
    });
  });
  state.stats.requests++;
  if (state.record) state.requests.push(rec);

  const format: WireFormat = path.startsWith("/v1/messages") ? "anthropic" : "openai";
  let raw: Buffer;
  try {
    raw = await readBody(req);
  } catch {
    return; // the client went away while sending
  }
  let parsed = true;
  if (raw.length > 0) {
    try {
      rec.body = JSON.parse(raw.toString("utf8"));
    } catch {
      parsed = false;
    }
  }
  rec.behavior = resolveBehavior(rec.body, req.headers, state.defaults, rec.deployment);
  const behavior = rec.behavior;
  if (behavior.hang) return;
  if (behavior.ttfbMs > 0) {
    await sleep(behavior.ttfbMs);
    if (x.gone) return;
  }
  if (state.requireCredential !== undefined && rec.credential !== state.requireCredential) return sendError(x, format, 401);
  if (!route) return sendError(x, format, 404, `Unknown route ${method} ${path}`);
  if (route.deployment !== null && rec.query["api-version"] === undefined) return sendJson(x, 404, `{"error":{"code":"404","message":"Resource not found"}}`);
  const invalid = parsed ? validate(x, route.endpoint, route.deployment) : "The request body is not valid JSON.";
  if (invalid) return sendError(x, format, 400, invalid);
  if (behavior.status !== null && behavior.status >= 400) return sendError(x, format, behavior.status);
  await respond(x, route.endpoint, route.deployment, format);
}

export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const initial: MockBehavior = { ...DEFAULT_MOCK_BEHAVIOR, ...options.defaults };
  const models = options.models ?? ["mock-model"];
  const state: ServerState = {
    defaults: { ...initial },
    requireCredential: options.requireCredential,
    modelsJson: JSON.stringify({ object: "list", data: models.map((id) => ({ id, object: "model", created: 0, owned_by: "mock" })) }),
    record: options.record ?? true,
    requests: [],
    stats: { requests: 0, clientAborts: 0, drainWaits: 0 },
    seq: 0,
    closing: false,
  };
  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    handle(state, req, res).catch(() => {
      // A bug in the mock must not look like a hang: answer 500 or cut the connection.
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { "content-type": "application/json" }).end(errorBody("openai", 500));
    });
  });
  // Clients keep connections for a while (undici: 4 s by default); the server must not close them first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    requests: state.requests,
    stats: state.stats,
    setDefaults(defaults) {
      Object.assign(state.defaults, defaults);
    },
    reset() {
      state.requests.length = 0;
      Object.assign(state.stats, { requests: 0, clientAborts: 0, drainWaits: 0 });
      state.defaults = { ...initial };
    },
    close() {
      state.closing = true;
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
