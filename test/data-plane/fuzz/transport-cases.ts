// Malformed HTTP around a request: header floods, odd methods, paths and versions, bodies cut short, connections closed.
import fc from "fast-check";
import { type Endpoint, ENDPOINTS, type FuzzCase, type FuzzContext, PATHS, SHORT_WAIT_MS } from "./fuzz-context.ts";
import { json, requestBytes } from "./http-bytes.ts";

/** uWS answers nothing to a request with more headers than this (Host included; seen: 48 answered, 49 silence). */
const MAX_UWS_HEADERS = 48;
const STANDARD_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT"]);

export function transportCases(ctx: FuzzContext): { weight: number; arbitrary: fc.Arbitrary<FuzzCase> }[] {
  const endpoint = fc.constantFrom<Endpoint>(...ENDPOINTS);

  const manyHeaders = fc.tuple(endpoint, fc.integer({ min: 1, max: 150 })).map(([e, n]): FuzzCase => {
    const headers = ctx.headersFor(e);
    for (let i = 0; headers.length < n; i++) headers.push([`x-fuzz-${i}`, `v${i}`]);
    // requestBytes adds Host and Content-Length.
    const silent = headers.length + 2 > MAX_UWS_HEADERS;
    return {
      category: "header flood",
      label: `${e} with ${n} headers`,
      send: { ...ctx.post(e, json(ctx.validBody(e)), { kind: "length" }, headers), ...(silent ? { timeoutMs: SHORT_WAIT_MS } : {}) },
      passThrough: true,
      unanswered: silent,
    };
  });
  const hugeHeader = fc
    .tuple(endpoint, fc.constantFrom("x-fuzz-big", "authorization", "x-api-key", "cookie", "anthropic-beta", "anthropic-version", "user-agent"), fc.constantFrom(1_000, 8_000, 64_000, 256_000, 1_000_000))
    .map(([e, name, size]): FuzzCase => {
      const headers = ctx.headersFor(e).filter(([n]) => !(name === "authorization" && n === "Authorization"));
      headers.push([name, name === "authorization" ? `Bearer ${"k".repeat(size)}` : "v".repeat(size)]);
      return {
        category: "header flood",
        label: `${e} with a ${size}-byte ${name} header`,
        send: { ...ctx.post(e, json(ctx.validBody(e)), { kind: "length" }, headers), timeoutMs: 3_000 },
        // The authorization header replaced by junk is refused; the others may reach the provider.
        ...(name === "authorization" ? { statuses: [401] } : { passThrough: true }),
        unanswered: true,
      };
    });

  const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "FOO", "get", "Post", "M-SEARCH");
  const path = fc.oneof(
    fc.constantFrom(
      "/", "/v1", "/v1/", "/v1/models", "/v1/models/x", "/healthz", "/readyz", "/metrics", "/v1/messages/count_tokens",
      "/v1/chat/completions/", "/v1//chat/completions", "/V1/CHAT/COMPLETIONS", "/v1/chat/completions?stream=true&x=%zz",
      "/%00", "/%2e%2e/%2e%2e/etc/passwd", "/v1/chat%2Fcompletions", "*", "http://127.0.0.1/v1/models", `/${"a".repeat(6000)}`,
      ...Object.values(PATHS),
    ),
    fc.webPath(),
  );
  const methodsAndPaths = fc.tuple(method, path, fc.boolean(), fc.boolean()).map(([m, p, keyed, withBody]): FuzzCase => {
    const headers: [string, string][] = keyed ? ctx.headersFor("chat") : [];
    // uWS closes the connection on a method it does not know (PROPFIND, FOO, lower case).
    // Nor does it answer an absolute-form target (http://host/path), which only proxies get.
    const standard = STANDARD_METHODS.has(m) && p.startsWith("/") && !/\s/.test(p);
    return {
      category: "methods and paths",
      label: `${m} ${p.slice(0, 100)}${keyed ? " with a key" : ""}`,
      send: { parts: requestBytes({ method: m, path: p || "/", headers, body: withBody ? json(ctx.validBody("chat")) : null, framing: { kind: "length" } }), timeoutMs: standard ? 10_000 : SHORT_WAIT_MS },
      passThrough: keyed,
      mayServe: true,
      unanswered: !standard || m === "HEAD",
    };
  });
  // Request lines and heads an HTTP/1.1 server cannot take: no Host, other versions, broken header lines, framing conflicts.
  const brokenHeads = fc
    .constantFrom(
      "GET /healthz HTTP/1.1\r\n\r\n",
      "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
      "GET /healthz\r\n\r\n",
      "hello\r\n\r\n",
      "\r\n\r\n",
      "GET /healthz HTTP/1.1\nHost: x\n\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nx-a: a\u0000b\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nx-\u00ff: \u00fe\r\n\r\n",
    )
    .map((head): FuzzCase => ({ category: "broken HTTP", label: JSON.stringify(head).slice(0, 100), send: { parts: [Buffer.from(head, "latin1")], timeoutMs: SHORT_WAIT_MS }, unanswered: true }));

  // Bodies cut short and connections closed mid-request: nothing to answer, but the gateway must carry on.
  const truncated = fc.tuple(endpoint, fc.nat(), fc.constantFrom("close" as const, "half-close" as const), fc.constantFrom("declared", "chunked", "head", "stream")).map(
    ([e, cut, then, how]): FuzzCase => {
      const body = json({ ...ctx.validBody(e), ...(how === "stream" ? { stream: true } : {}) });
      let parts: Buffer[];
      if (how === "declared") parts = ctx.post(e, body.subarray(0, cut % body.length), { kind: "declared", value: String(body.length) }).parts;
      else if (how === "chunked") parts = ctx.post(e, body, { kind: "chunked", sizes: [1 + (cut % 16)], terminate: false }).parts.slice(0, 2);
      else if (how === "head") {
        const whole = Buffer.concat(ctx.post(e, body).parts);
        parts = [whole.subarray(0, cut % whole.length)];
      } else parts = ctx.post(e, body).parts;
      return { category: "cut short", label: `${e} ${how} cut at ${cut}, then ${then}`, send: { parts, then, timeoutMs: SHORT_WAIT_MS }, passThrough: true, unanswered: true };
    },
  );

  return [
    { weight: 5, arbitrary: manyHeaders },
    { weight: 3, arbitrary: hugeHeader },
    { weight: 8, arbitrary: methodsAndPaths },
    { weight: 3, arbitrary: brokenHeads },
    { weight: 6, arbitrary: truncated },
  ];
}
