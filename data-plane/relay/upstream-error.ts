// Classifies why an upstream call failed, so the gateway knows whether another route may still be tried.

/**
 * - connect: no connection (refused, DNS, unreachable, connect timeout, TLS) — nothing reached the provider.
 * - timeout: connected and sent, but no response headers within the first-byte timeout.
 * - reset: the connection dropped before the response started.
 * - aborted: our own signal (client gone or shutdown): never retry.
 * - body_timeout / failed: anything else, including failures mid-body.
 */
export type UpstreamErrorKind = "connect" | "timeout" | "reset" | "aborted" | "body_timeout" | "failed";

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly kind: UpstreamErrorKind,
    readonly url: string,
    options: { cause: unknown },
  ) {
    super(`upstream ${kind}: ${describe(options.cause)}`, options);
  }

  /** True when no response has started, so the gateway may fall back to the next route. */
  get retryable(): boolean {
    return this.kind === "connect" || this.kind === "timeout" || this.kind === "reset";
  }
}

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_HAS_EXPIRED",
]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ETIMEDOUT"]);

/** The kind of an error thrown by undici (before or during the body); `aborted` says our own signal fired. */
export function classifyUpstreamError(error: unknown, aborted: boolean): UpstreamErrorKind {
  if (aborted) return "aborted";
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  const name = error instanceof Error ? error.name : "";
  if (name === "AbortError" || code === "UND_ERR_ABORTED") return "aborted";
  if (typeof code !== "string") return "failed";
  if (CONNECT_CODES.has(code) || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_")) return "connect";
  if (code === "UND_ERR_HEADERS_TIMEOUT") return "timeout";
  if (code === "UND_ERR_BODY_TIMEOUT") return "body_timeout";
  if (RESET_CODES.has(code)) return "reset";
  return "failed";
}

/** 429 and 5xx before the first byte: worth trying another route; anything else is the upstream's answer to relay. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
