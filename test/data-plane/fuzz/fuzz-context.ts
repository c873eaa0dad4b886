// What every fuzz-case generator shares: the case shape, the seeded keys and slugs, and valid requests to spoil.
import type { FuzzKeys, FuzzSlugs } from "./fuzz-target.ts";
import { type Framing, requestBytes } from "./http-bytes.ts";
import type { RawSend } from "./raw-http.ts";

export interface FuzzCase {
  category: string;
  /** What was sent, short, for a failure message. */
  label: string;
  send: RawSend;
  /** The gateway statuses this case may get (its own error table answers); undefined: any documented one. */
  statuses?: number[];
  /** Authenticated and routable: the request may reach the mock, whose answer (2xx or its own 4xx) is relayed. */
  passThrough?: boolean;
  /** The case may end without any answer (HTTP the server cannot parse, a connection we cut). */
  unanswered?: boolean;
  /** A 2xx of the gateway's own (health, readiness, metrics, the model list) is a fine answer too. */
  mayServe?: boolean;
}

export type Endpoint = "chat" | "messages" | "embeddings";
export const ENDPOINTS: readonly Endpoint[] = ["chat", "messages", "embeddings"];
export const PATHS: Record<Endpoint, string> = { chat: "/v1/chat/completions", messages: "/v1/messages", embeddings: "/v1/embeddings" };
/** Silence is expected there, and uWS keeps such sockets ~10 s: do not wait that long. */
export const SHORT_WAIT_MS = 250;

export interface FuzzContext {
  keys: FuzzKeys;
  slugs: FuzzSlugs;
  /** A body the endpoint accepts (the mock answers it with 200). */
  validBody(endpoint: Endpoint): Record<string, unknown>;
  /** The headers a real client sends: the key, content type, and anthropic-version on /v1/messages. */
  headersFor(endpoint: Endpoint, key?: string): [string, string][];
  post(endpoint: Endpoint, body: Buffer | null, framing?: Framing, headers?: [string, string][]): RawSend;
}

export function fuzzContext(keys: FuzzKeys, slugs: FuzzSlugs): FuzzContext {
  const validBody = (endpoint: Endpoint): Record<string, unknown> =>
    endpoint === "chat"
      ? { model: slugs.chat, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }
      : endpoint === "messages"
        ? { model: slugs.messages, max_tokens: 4, messages: [{ role: "user", content: "hi" }] }
        : { model: slugs.chat, input: "hi" };
  const headersFor = (endpoint: Endpoint, key = keys.valid): [string, string][] => [
    ["Authorization", `Bearer ${key}`],
    ["content-type", "application/json"],
    ...(endpoint === "messages" ? ([["anthropic-version", "2023-06-01"]] as [string, string][]) : []),
  ];
  const post = (endpoint: Endpoint, body: Buffer | null, framing: Framing = { kind: "length" }, headers = headersFor(endpoint)): RawSend => ({
    parts: requestBytes({ method: "POST", path: PATHS[endpoint], headers, body, framing }),
  });
  return { keys, slugs, validBody, headersFor, post };
}
