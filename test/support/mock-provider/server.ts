// The HTTP server: routes and validates requests, records them, applies the controls and hands off to respond().
//
// Like the real services it rejects what they reject: /v1/messages without `anthropic-version` or `max_tokens` (400),
// an Azure URL without `api-version` (404), unknown routes (404), bodies that are not JSON objects (400).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_MOCK_BEHAVIOR, type MockBehavior, resolveBehavior } from "./behavior.ts";
import {
  emptyStats,
  type Exchange,
  liveStats,
  errorBody,
  type MockEndpoint,
  type MockProviderStats,
  type RecordedRequest,
  type ServerState,
  sendError,
  sendJson,
  type WireFormat,
} from "./exchange.ts";
import { openaiModelsJson } from "./openai-frames.ts";
import { respond } from "./respond.ts";

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
  // Both providers want a whole number of tokens (OpenAI also takes null); a fraction would make fractional chunks.
  for (const name of ["max_tokens", "max_completion_tokens"]) {
    const value = body[name];
    if (value !== undefined && value !== null && !(Number.isSafeInteger(value) && value >= 1)) return `${name}: Input should be a positive integer`;
  }
  return null;
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
    bodyText: "",
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
  if (state.record) rec.bodyText = raw.toString("utf8");
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

/** GET this path for the stats as JSON (MockProviderStats). */
export const STATS_PATH = "/_mock/stats";

export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const initial: MockBehavior = { ...DEFAULT_MOCK_BEHAVIOR, ...options.defaults };
  const state: ServerState = {
    defaults: { ...initial },
    requireCredential: options.requireCredential,
    modelsJson: openaiModelsJson(options.models ?? ["mock-model"]),
    record: options.record ?? true,
    requests: [],
    stats: emptyStats(),
    seq: 0,
    closing: false,
    openStreams: new Set(),
  };
  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    // Live stats for benchmarks in other processes (e.g. whether slow readers' streams are paused); not recorded.
    if (req.method === "GET" && req.url === STATS_PATH) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(liveStats(state)));
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
      Object.assign(state.stats, emptyStats());
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
