// Which provider response headers reach the client: everything but framing, hop-by-hop and the provider account's own limits.

/**
 * uWS does its own framing (chunked or content-length) and connection handling, so the provider's must not leak
 * through; its date/server would duplicate ours. Rate-limit headers describe the shared provider account, not the
 * caller, and would contradict the gateway's own x-ratelimit-* headers; cookies belong to the provider's domain.
 */
const DROPPED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "date",
  "server",
  "set-cookie",
  "alt-svc",
]);

/**
 * The name a provider header is relayed under, or null to drop it. The provider's x-request-id would clash with the
 * gateway's own, yet it is what the provider's support asks for, so it travels as x-upstream-request-id.
 */
export function forwardedHeaderName(lowerCaseName: string): string | null {
  if (DROPPED.has(lowerCaseName)) return null;
  if (lowerCaseName.startsWith("x-ratelimit-") || lowerCaseName.startsWith("anthropic-ratelimit-")) return null;
  return lowerCaseName === "x-request-id" ? "x-upstream-request-id" : lowerCaseName;
}
