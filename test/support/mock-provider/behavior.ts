// Per-request behaviour controls: the defaults, and how a request's model name, JSON field and x-mock-* headers change them.
//
// Later sources win: startMockProvider({ defaults }) / setDefaults() < the model name (or Azure deployment)
// < a JSON object in `metadata.mock`, `metadata.user_id` or `user` < `x-mock-*` request headers. The gateway does not
// forward unknown headers, so through the gateway use the model name or the JSON field.
//   model name:  tokens split on "-": chunks-N delay-MS ttfb-MS status-CODE retry-S fail-N failevent-N stall-N cached-N hang stable
//                e.g. "mock-chunks-64-delay-20", "mock-status-429-retry-2", "mock-failevent-3", "mock-hang"
//   JSON:        {"chunks":64,"delayMs":20,"ttfbMs":0,"status":429,"retryAfter":2,"failAfter":3,"failMode":"event",
//                 "stallAfter":3,"hang":true,"cachedTokens":10,"stable":true}, either bare or as {"mock":{...}}
//   headers:     x-mock-chunks, x-mock-delay-ms, x-mock-ttfb-ms, x-mock-status, x-mock-retry-after, x-mock-fail-after,
//                x-mock-fail-mode (destroy|event), x-mock-stall-after, x-mock-hang (1|true), x-mock-cached-tokens,
//                x-mock-stable (1|true)
import type { IncomingHttpHeaders } from "node:http";

export type FailMode = "destroy" | "event";

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
  /**
   * After this many content chunks go silent, neither ending nor failing, until the client gives up (a provider that
   * hangs mid-stream); a non-stream answer sends its headers and then nothing.
   */
  stallAfter: number | null;
  /** Never answer; the client's eventual disconnect is recorded. */
  hang: boolean;
  /** Input tokens reported as read from the prompt cache (capped at the input tokens). */
  cachedTokens: number;
  /** Same id and `created` in every answer, so the same request always gets the same bytes (benchmarks compare them). */
  stable: boolean;
}

export const DEFAULT_MOCK_BEHAVIOR: Readonly<MockBehavior> = Object.freeze({
  chunks: 8,
  delayMs: 0,
  ttfbMs: 0,
  status: null,
  retryAfter: null,
  failAfter: null,
  failMode: "destroy",
  stallAfter: null,
  hang: false,
  cachedTokens: 0,
  stable: false,
});

const MODEL_KEYS: Record<string, (b: Partial<MockBehavior>, n: number) => void> = {
  chunks: (b, n) => (b.chunks = n),
  delay: (b, n) => (b.delayMs = n),
  ttfb: (b, n) => (b.ttfbMs = n),
  status: (b, n) => (b.status = n),
  retry: (b, n) => (b.retryAfter = n),
  fail: (b, n) => ((b.failAfter = n), (b.failMode = "destroy")),
  failevent: (b, n) => ((b.failAfter = n), (b.failMode = "event")),
  cached: (b, n) => (b.cachedTokens = n),
  stall: (b, n) => (b.stallAfter = n),
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
    if (key === "stable") found.stable = true;
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
  for (const key of ["chunks", "delayMs", "ttfbMs", "status", "retryAfter", "failAfter", "stallAfter", "cachedTokens"] as const) {
    const v = s[key];
    if (typeof v === "number" && Number.isFinite(v)) out[key] = v;
    else if (v === null && (key === "status" || key === "retryAfter" || key === "failAfter" || key === "stallAfter")) out[key] = null;
  }
  if (s.failMode === "destroy" || s.failMode === "event") out.failMode = s.failMode;
  if (typeof s.hang === "boolean") out.hang = s.hang;
  if (typeof s.stable === "boolean") out.stable = s.stable;
  return out;
}

const HEADER_NUMBERS = [
  ["x-mock-chunks", "chunks"],
  ["x-mock-delay-ms", "delayMs"],
  ["x-mock-ttfb-ms", "ttfbMs"],
  ["x-mock-status", "status"],
  ["x-mock-retry-after", "retryAfter"],
  ["x-mock-fail-after", "failAfter"],
  ["x-mock-stall-after", "stallAfter"],
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
  const stable = headers["x-mock-stable"];
  if (stable !== undefined) into.stable = stable === "1" || stable === "true";
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
