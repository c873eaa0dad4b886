// Keys in both headers, good and bad, and a share of valid requests so the fuzz also walks the admitted path.
import fc from "fast-check";
import { type Endpoint, ENDPOINTS, type FuzzCase, type FuzzContext, PATHS } from "./fuzz-context.ts";
import { json, requestBytes } from "./http-bytes.ts";

/**
 * uWS trims header values of bytes ≤ 0x20 and, reading them as signed chars, of bytes ≥ 0x80 too: "Bearer \xff" reaches
 * the gateway as "Bearer" (no key), so x-api-key is used.
 */
const trimmed = (code: number) => code <= 0x20 || code >= 0x80;
function uwsTrim(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && trimmed(value.charCodeAt(start))) start++;
  while (end > start && trimmed(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

/** The gateway's rule (data-plane/server/authenticate.ts), restated: a Bearer Authorization wins, else x-api-key. */
function presentedKey(authorization: string | null, xApiKey: string | null): string {
  const auth = uwsTrim(authorization ?? "");
  const bearer = /^bearer\s+/i.exec(auth);
  if (auth !== "" && bearer !== null) return auth.slice(bearer[0].length).trim();
  return uwsTrim(xApiKey ?? "").trim();
}

function mangle(key: string, at: number): string {
  const i = 8 + (at % (key.length - 8));
  return key.slice(0, i) + (key[i] === "A" ? "B" : "A") + key.slice(i + 1);
}

export function keyCases(ctx: FuzzContext): { weight: number; arbitrary: fc.Arbitrary<FuzzCase> }[] {
  const { keys } = ctx;
  const secret = fc.oneof(
    fc.constantFrom(keys.valid, keys.revoked, keys.expired, keys.adminOnly, keys.unknown, `${keys.valid}x`, `x${keys.valid}`, keys.valid.slice(0, -1), "", "tg_pat_", "k".repeat(5000)),
    fc.nat().map((at) => mangle(keys.valid, at)),
    fc.string({ maxLength: 80 }).filter((s) => !/[\r\n]/.test(s)),
  );
  const authorization = fc.oneof(
    fc.constant(null),
    secret.map((s) => `Bearer ${s}`),
    fc.tuple(fc.constantFrom("bearer ", "BEARER   ", "Bearer\t", "Basic ", "Token ", "", "Bearer"), secret).map(([scheme, s]) => `${scheme}${s}`),
    fc.constantFrom(`Bearer ${keys.valid} ${keys.valid}`, `Bearer ${keys.valid},${keys.valid}`, "Bearer \u00ff\u00fe"),
  );
  const xApiKey = fc.oneof(fc.constant(null), secret, secret.map((s) => `Bearer ${s}`));
  const target = fc.constantFrom<Endpoint | "models">(...ENDPOINTS, "models");

  const badKeys = fc.tuple(target, authorization, xApiKey).map(([t, auth, x]): FuzzCase => {
    const headers: [string, string][] = [["content-type", "application/json"]];
    if (auth !== null) headers.push(["Authorization", auth]);
    if (x !== null) headers.push(["x-api-key", x]);
    if (t === "messages") headers.push(["anthropic-version", "2023-06-01"]);
    const authenticated = presentedKey(auth, x) === keys.valid;
    const request =
      t === "models"
        ? { method: "GET", path: "/v1/models", headers, body: null, framing: { kind: "none" as const } }
        : { method: "POST", path: PATHS[t], headers, body: json(ctx.validBody(t)), framing: { kind: "length" as const } };
    return {
      category: "keys",
      label: `${t} authorization=${JSON.stringify(auth)?.slice(0, 90)} x-api-key=${JSON.stringify(x)?.slice(0, 90)}`,
      send: { parts: requestBytes(request) },
      ...(authenticated ? { passThrough: true, mayServe: true } : { statuses: [401] }),
    };
  });

  // Requests a real client sends, answered 200: streamed and not, every endpoint, and the model list.
  const valid = fc.tuple(fc.constantFrom<Endpoint | "count_tokens" | "models">(...ENDPOINTS, "count_tokens", "models"), fc.boolean(), fc.boolean()).map(
    ([t, stream, xHeader]): FuzzCase => {
      const key = xHeader ? keys.valid : null;
      if (t === "models") {
        const headers: [string, string][] = key ? [["x-api-key", key]] : [["Authorization", `Bearer ${keys.valid}`]];
        return { category: "valid", label: "GET /v1/models", send: { parts: requestBytes({ method: "GET", path: "/v1/models", headers, body: null, framing: { kind: "none" } }) }, statuses: [200] };
      }
      const endpoint: Endpoint = t === "count_tokens" ? "messages" : t;
      const body = { ...ctx.validBody(endpoint), ...(stream && t !== "embeddings" && t !== "count_tokens" ? { stream: true } : {}) };
      const headers = ctx.headersFor(endpoint);
      if (key) headers.splice(0, 1, ["x-api-key", key]);
      const path = t === "count_tokens" ? "/v1/messages/count_tokens" : PATHS[endpoint];
      return { category: "valid", label: `${t}${body.stream ? " stream" : ""}`, send: { parts: requestBytes({ method: "POST", path, headers, body: json(body), framing: { kind: "length" } }) }, statuses: [200] };
    },
  );

  return [
    { weight: 14, arbitrary: badKeys },
    { weight: 5, arbitrary: valid },
  ];
}
