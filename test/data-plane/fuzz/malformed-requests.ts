// All data-plane fuzz cases in one generator, and the oracle that judges each answer against the README's error table.
import fc from "fast-check";
import { bodyCases } from "./body-cases.ts";
import { type FuzzCase, fuzzContext } from "./fuzz-context.ts";
import type { FuzzKeys, FuzzSlugs } from "./fuzz-target.ts";
import { keyCases } from "./key-cases.ts";
import type { RawOutcome } from "./raw-http.ts";
import { transportCases } from "./transport-cases.ts";

export type { FuzzCase } from "./fuzz-context.ts";

export function fuzzCases(keys: FuzzKeys, slugs: FuzzSlugs): fc.Arbitrary<FuzzCase> {
  const ctx = fuzzContext(keys, slugs);
  return fc.oneof(...bodyCases(ctx), ...transportCases(ctx), ...keyCases(ctx));
}

/** README "Errors are JSON with a stable `error` and a `message`": the codes a client may see, with their status. */
export const DOCUMENTED_ERRORS: Readonly<Record<string, number>> = {
  invalid_api_key: 401,
  access_denied: 403,
  model_not_found: 404,
  not_found: 404,
  invalid_request: 400,
  payload_too_large: 413,
  rate_limited: 429,
  budget_exceeded: 402,
};

function jsonBody(body: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Why the answer breaks the contract, or null when it keeps it. */
export function judge(c: FuzzCase, outcome: RawOutcome): string | null {
  if (outcome.kind !== "response") return c.unanswered ? null : `no answer (${outcome.kind})`;
  const { status, headers, body } = outcome;
  if (status >= 500) return `a ${status}: ${body.toString("utf8").slice(0, 300)}`;
  const parsed = jsonBody(body);
  // The gateway's own errors carry a string `error`; a provider's (OpenAI, Anthropic) nest an object there.
  const own = parsed !== null && typeof parsed.error === "string";
  if (own) {
    const code = parsed.error as string;
    if (DOCUMENTED_ERRORS[code] !== status) return `${status} with undocumented error "${code}"`;
    if (typeof parsed.message !== "string" || parsed.message === "") return `${status} ${code} without a message`;
    if (!(headers["content-type"] ?? "").startsWith("application/json")) return `${status} ${code} not sent as JSON`;
    if (c.statuses !== undefined && !c.statuses.includes(status)) return `${status} ${code}, expected ${c.statuses.join(" or ")}`;
    return null;
  }
  if (status < 400 && (c.statuses?.includes(status) || c.mayServe)) return null;
  // Anything else must be the provider's answer, relayed for an admitted request (which carries our x-request-id).
  if (!c.passThrough) return `${status} that is not a gateway error: ${body.toString("utf8").slice(0, 200)}`;
  if (headers["x-request-id"] === undefined) return `${status} without x-request-id, so not from the provider: ${body.toString("utf8").slice(0, 200)}`;
  return null;
}
