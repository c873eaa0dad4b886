// The data plane's internal contracts: what the snapshot holds, what admission decides, what adapters do.
import type { BudgetPeriod } from "../shared/policy/index.ts";

/** One upstream route a request may take, with everything needed to call it (credentials decrypted in memory only). */
export interface RouteTarget {
  routeId: string;
  providerId: string;
  providerName: string;
  /** "openai" | "openai-compatible" | "azure-openai" | "anthropic" */
  providerKind: string;
  baseUrl: string;
  credentials: string | null;
  settings: Record<string, unknown>;
  providerModelId: string;
  upstreamModel: string;
  priority: number;
  weight: number;
  /** Micro-dollars per million tokens. */
  prices: { inputPerMTok: bigint; outputPerMTok: bigint; cachedInputPerMTok: bigint };
}

/** Rate and spend limits of one counter scope ("user:<id>", "va:<id>" or "key:<id>"): counters are per scope. */
export interface Bucket {
  scope: string;
  requestsPerMinute?: number;
  /** A burst limit over a sliding second (admission/windows.ts). */
  requestsPerSecond?: number;
  tokensPerMinute?: number;
  concurrentRequests?: number;
  budgets: { period: BudgetPeriod; capMicros: bigint }[];
}

/**
 * A user or virtual account with its effective policy (DESIGN rules 1–5), precomputed. `models` and `bucket` may be
 * replaced (never mutated) by a change that narrows them before the re-read (snapshot/early-changes.ts).
 */
export interface PrincipalEntry {
  kind: "user" | "virtualAccount";
  id: string;
  /** Usable routes per model slug, sorted by priority; a slug present with [] means "allowed but no route" (503). */
  models: Map<string, RouteTarget[]>;
  /** The principal's own counters against its effective (strictest) limits and budgets. */
  bucket: Bucket;
}

export interface KeyEntry {
  keyId: string;
  prefix: string;
  principal: PrincipalEntry;
  scopes: ReadonlySet<string>;
  /** Epoch ms; null = never. Checked per request (keys expire without an event). */
  expiresAt: number | null;
  /** Empty = every model the principal may use (DESIGN rule 6). */
  modelSlugs: ReadonlySet<string>;
  /** The key's own counters and limits, or null when the key has none. */
  bucket: Bucket | null;
}

export interface ModelEntry {
  id: string;
  slug: string;
  kind: string;
  displayName: string;
}

export interface Snapshot {
  version: bigint;
  builtAt: number;
  keysByHash: Map<string, KeyEntry>;
  modelsBySlug: Map<string, ModelEntry>;
}

/**
 * Tokens one request used. `inputTokens` counts every input token, cached ones included; `cachedTokens` is the subset
 * billed at the cached price (as shared/money.ts costMicros expects). All zero when the provider reported nothing.
 */
export interface UsageCounts {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
}

export interface AdmissionTicket {
  id: string;
  buckets: Bucket[];
  reservedTokens: number;
  reservedMicros: bigint;
  /** Epoch ms the reservation was made (settlement uses the same windows). */
  at: number;
}

export type AdmitResult =
  | { ok: true; ticket: AdmissionTicket; headers: Record<string, string> }
  | { ok: false; reason: "rate_limited" | "budget_exceeded" | "unavailable"; retryAfterSeconds?: number; message: string; headers: Record<string, string> };

export interface Admission {
  /** One atomic check-and-reserve across every bucket (at most one Redis round trip; none when a quota lease covers it). */
  admit(buckets: Bucket[], estimate: { tokens: number; micros: bigint }, now: number): Promise<AdmitResult>;
  /** Replaces the reservation with what was really used; always called once per admitted request, disconnects included. */
  settle(ticket: AdmissionTicket, actual: { tokens: number; micros: bigint }): Promise<void>;
  close(): Promise<void>;
}

export interface UsageRecordInput {
  requestId: string;
  userId: string | null;
  virtualAccountId: string | null;
  apiKeyId: string | null;
  modelSlug: string;
  providerModelId: string | null;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costMicros: bigint;
  status: number;
  latencyMs: number;
  ttfbMs: number | null;
  createdAt: Date;
}

export type EndpointKind = "chat" | "embeddings" | "messages" | "count_tokens";

/** The wire format a client speaks on an endpoint, and a provider speaks natively. */
export type WireFormat = "openai" | "anthropic";

export interface UpstreamRequest {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  body: string | Buffer;
}

/** Scans a provider response (streamed or not) for usage without re-encoding it. */
export interface UsageScanner {
  /** Feed raw bytes as they pass; returns bytes to forward to the client (usually the same buffer). */
  push(chunk: Buffer): Buffer;
  /** Bytes still held back at the end of the stream (usually none). */
  flush(): Buffer;
  /** What the provider has reported so far (zeros where it reported nothing). */
  usage(): UsageCounts;
  /**
   * Whether the provider's final usage report was seen (OpenAI stream: the usage chunk; Anthropic stream: a
   * message_delta with usage; JSON: a `usage` object in the body). When false, usage() is partial or empty and the
   * gateway charges an estimate instead (see server/finish-call.ts).
   */
  complete(): boolean;
  /** Content deltas seen so far in a stream (text, reasoning, tool arguments), for that estimate; 0 for JSON bodies. */
  producedEvents(): number;
  /**
   * Whether the provider sent its own error event inside a 2xx stream (OpenAI `data: {"error": …}`, Anthropic
   * `event: error`): the client saw a 200 but the provider failed, so the request is recorded as 502.
   */
  providerFailed(): boolean;
}

/** An upstream JSON body: already encoded, or an object jsonPost encodes. */
export type RequestBody = Buffer | Record<string, unknown>;

export interface ProviderAdapter {
  kind: string;
  format: WireFormat;
  endpoints: ReadonlySet<EndpointKind>;
  /**
   * Builds the upstream call. `body` has `model` already replaced by the route's upstream model: the JSON to send, either
   * encoded (the client's bytes, spliced) or as the parsed object to encode; `clientHeaders` are lower-cased request
   * headers (for anthropic-version / anthropic-beta passthrough).
   */
  buildRequest(route: RouteTarget, endpoint: EndpointKind, body: RequestBody, clientHeaders: Record<string, string>): UpstreamRequest;
  /** A scanner for this response; `stream` says whether it is SSE; `hideInjectedUsage` strips a usage chunk the client did not ask for. */
  usageScanner(endpoint: EndpointKind, stream: boolean, hideInjectedUsage: boolean): UsageScanner;
}
