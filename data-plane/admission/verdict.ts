// What an admission engine decided, turned into the contract's result: reason, message, Retry-After, x-ratelimit-*.
import type { AdmissionTicket, AdmitResult } from "../contracts.ts";
import type { Check } from "./checks.ts";
import { formatReset, retryAfterSeconds, SECOND_MS } from "./windows.ts";

/** The tightest window of one dimension (least remaining after this request), for the x-ratelimit-* headers. */
export interface WindowState {
  limit: number;
  remaining: number;
  resetMs: number;
}

export interface Verdict {
  /** Index into the checks of the first one that failed; -1 when admitted. */
  failed: number;
  /** For a failed rate check: milliseconds until the request would fit. */
  waitMs: number;
  requests: WindowState | null;
  tokens: WindowState | null;
}

export function rateLimitHeaders(verdict: Verdict): Record<string, string> {
  const headers: Record<string, string> = {};
  const { requests, tokens } = verdict;
  if (requests) {
    headers["x-ratelimit-limit-requests"] = String(requests.limit);
    headers["x-ratelimit-remaining-requests"] = String(requests.remaining);
    headers["x-ratelimit-reset-requests"] = formatReset(requests.resetMs);
  }
  if (tokens) {
    headers["x-ratelimit-limit-tokens"] = String(tokens.limit);
    headers["x-ratelimit-remaining-tokens"] = String(tokens.remaining);
    headers["x-ratelimit-reset-tokens"] = formatReset(tokens.resetMs);
  }
  return headers;
}

export function admitResult(verdict: Verdict, checks: readonly Check[], ticket: AdmissionTicket): AdmitResult {
  const headers = rateLimitHeaders(verdict);
  const check = checks[verdict.failed];
  if (verdict.failed < 0 || !check) return { ok: true, ticket, headers };
  if (check.kind === "budget") {
    return { ok: false, reason: "budget_exceeded", message: `The ${check.period.toLowerCase()} budget of ${owner(check.scope)} is used up`, headers };
  }
  // Concurrency frees when a request finishes, which is usually soon; a per-second wait rounds up to 1 s.
  const retryAfter = retryAfterSeconds(check.kind === "concurrency" ? 1000 : verdict.waitMs);
  headers["retry-after"] = String(retryAfter);
  const what = `${check.limit} ${check.kind === "requestLog" ? (check.windowMs === SECOND_MS ? "requests per second" : "requests per minute") : LIMIT_NAMES[check.kind]}`;
  return {
    ok: false,
    reason: "rate_limited",
    retryAfterSeconds: retryAfter,
    message: `Rate limit of ${what} reached for ${owner(check.scope)}; retry in ${retryAfter}s`,
    headers,
  };
}

const LIMIT_NAMES = {
  requests: "requests per minute",
  tokens: "tokens per minute",
  concurrency: "concurrent requests",
} as const;

export const UNAVAILABLE_MESSAGE = "Rate limit and budget counters are unavailable; try again shortly";

export function unavailableResult(): AdmitResult {
  return { ok: false, reason: "unavailable", message: UNAVAILABLE_MESSAGE, headers: {} };
}

function owner(scope: string): string {
  return scope.startsWith("key:") ? "this API key" : "your account";
}
