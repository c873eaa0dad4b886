// The gateway's refusals: every error of DESIGN.md's table with its exact status, body and headers, before any provider.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintApiKey } from "../../shared/api-key-format.ts";
import { keyFor, principal, routeTo, snapshotOf, startTestGateway, type TestGateway } from "./gateway-fixtures.ts";

// No provider is ever reached in this file: routes point at a closed port.
const NOWHERE = "http://127.0.0.1:9";

let gw: TestGateway;
const owner = principal({ "chat-fast": [routeTo(NOWHERE)], "chat-premium": [routeTo(NOWHERE)], "no-routes": [] });
const key = keyFor(owner);
const narrowKey = keyFor(owner, { modelSlugs: new Set(["chat-fast"]) });
const expiredKey = keyFor(owner, { expiresAt: Date.now() - 1000 });
const adminOnlyKey = keyFor(owner, { scopes: new Set(["admin"]) });
const rateLimited = keyFor(principal({ "chat-fast": [routeTo(NOWHERE)] }, { requestsPerMinute: 0 }));
const broke = keyFor(principal({ "chat-fast": [routeTo(NOWHERE)] }, { budgets: [{ period: "DAILY", capMicros: 0n }] }));
const keyLimited = keyFor(owner, { bucket: { scope: "key:limited", requestsPerMinute: 0, budgets: [] } });

beforeAll(async () => {
  gw = await startTestGateway(
    snapshotOf([key, narrowKey, expiredKey, adminOnlyKey, rateLimited, broke, keyLimited], ["chat-fast", "chat-premium", "no-routes", "secret-model"]),
    { env: { DATA_PLANE_MAX_BODY_BYTES: "2048" } },
  );
});
afterAll(() => gw.close());

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body),
  });
}

const chat = (model: string) => ({ model, messages: [{ role: "user", content: "hi" }] });
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function expectError(response: Response, status: number, error: string, message?: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/json");
  const body = await response.json();
  expect(body.error).toBe(error);
  expect(typeof body.message).toBe("string");
  if (message !== undefined) expect(body).toEqual({ error, message });
  return body;
}

describe("authentication", () => {
  it("refuses a request without a key with 401 invalid_api_key", async () => {
    await expectError(await post("/v1/chat/completions", chat("chat-fast")), 401, "invalid_api_key", "Missing or invalid API key");
  });

  it("refuses a malformed key, an unknown well-formed key, an expired key and a key without the inference scope", async () => {
    for (const secret of ["tg_pat_nope", mintApiKey("user").secret, expiredKey.secret, adminOnlyKey.secret]) {
      await expectError(await post("/v1/chat/completions", chat("chat-fast"), bearer(secret)), 401, "invalid_api_key");
    }
  });

  it("accepts the key as x-api-key as well as a Bearer token", async () => {
    const response = await post("/v1/messages", { model: "secret-model", max_tokens: 5, messages: [] }, { "x-api-key": key.secret });
    await expectError(response, 403, "access_denied");
  });

  it("refuses a bad key before reading the body, even one over the size limit", async () => {
    await expectError(await post("/v1/chat/completions", "x".repeat(10_000)), 401, "invalid_api_key");
  });
});

describe("request validation", () => {
  it("answers 400 invalid_request for a body that is not JSON, not an object, or has no model", async () => {
    for (const body of ["{not json", "[1,2]", "null", JSON.stringify({ messages: [] }), JSON.stringify({ model: "" }), JSON.stringify({ model: 7 })]) {
      await expectError(await post("/v1/chat/completions", body, bearer(key.secret)), 400, "invalid_request");
    }
  });

  it("answers 413 payload_too_large when the declared length passes DATA_PLANE_MAX_BODY_BYTES", async () => {
    const body = JSON.stringify({ ...chat("chat-fast"), padding: "x".repeat(4000) });
    await expectError(await post("/v1/chat/completions", body, bearer(key.secret)), 413, "payload_too_large", "The request body is too large");
  });

  it("answers 413 for a chunked body without a declared length as soon as it passes the limit", async () => {
    const padding = "x".repeat(1500);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`{"model":"chat-fast","a":"${padding}",`));
        controller.enqueue(new TextEncoder().encode(`"b":"${padding}"}`));
        controller.close();
      },
    });
    const response = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: bearer(key.secret),
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(response, 413, "payload_too_large");
  });
});

describe("authorization", () => {
  it("answers 404 model_not_found for a slug the catalogue does not have", async () => {
    const body = await expectError(await post("/v1/chat/completions", chat("no-such-model"), bearer(key.secret)), 404, "model_not_found");
    expect(body.message).toContain("no-such-model");
  });

  it("answers 403 with the exact access_denied body for a model the owner was not granted", async () => {
    const response = await post("/v1/chat/completions", chat("secret-model"), bearer(key.secret));
    await expectError(response, 403, "access_denied", "You do not have access to this model");
  });

  it("answers 403 for a model the owner may use but the key's model list leaves out", async () => {
    await expectError(await post("/v1/chat/completions", chat("chat-premium"), bearer(narrowKey.secret)), 403, "access_denied");
  });

  it("answers 503 no_available_route for an allowed model without any route", async () => {
    await expectError(await post("/v1/chat/completions", chat("no-routes"), bearer(key.secret)), 503, "no_available_route");
  });

  it("answers 404 model_not_found for a model whose routes do not serve the endpoint (the client's mistake, not an outage)", async () => {
    // chat-fast has only an OpenAI route, which cannot serve the Anthropic Messages endpoint.
    await expectError(await post("/v1/messages", { ...chat("chat-fast"), max_tokens: 5 }, bearer(key.secret)), 404, "model_not_found");
  });

  it("answers 400 invalid_request for a wrong-typed field the gateway reads itself, and for a body that is not UTF-8", async () => {
    for (const field of [{ max_tokens: "5" }, { max_tokens: 0 }, { max_tokens: 1.5 }, { max_completion_tokens: -1 }, { stream_options: "usage" }, { stream: "true" }]) {
      await expectError(await post("/v1/chat/completions", { ...chat("chat-fast"), ...field }, bearer(key.secret)), 400, "invalid_request");
    }
    const notUtf8 = Buffer.concat([Buffer.from('{"model":"chat-fast","messages":[{"role":"user","content":"h'), Buffer.from([0xff]), Buffer.from('i"}]}')]);
    await expectError(await post("/v1/chat/completions", notUtf8, bearer(key.secret)), 400, "invalid_request");
  });
});

describe("admission", () => {
  it("answers 429 rate_limited with Retry-After and x-ratelimit-* headers", async () => {
    const response = await post("/v1/chat/completions", chat("chat-fast"), bearer(rateLimited.secret));
    await expectError(response, 429, "rate_limited");
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("0");
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("applies the key's own limit on top of its owner's", async () => {
    await expectError(await post("/v1/chat/completions", chat("chat-fast"), bearer(keyLimited.secret)), 429, "rate_limited");
  });

  it("answers 402 budget_exceeded when a budget has no room", async () => {
    await expectError(await post("/v1/chat/completions", chat("chat-fast"), bearer(broke.secret)), 402, "budget_exceeded");
  });

  it("answers 503 unavailable when admission cannot decide", async () => {
    const failing = await startTestGateway(snapshotOf([key], ["chat-fast"]), {
      admission: { admit: () => Promise.reject(new Error("redis down")), settle: async () => {}, close: async () => {} },
    });
    try {
      await expectError(await fetch(`${failing.url}/v1/chat/completions`, { method: "POST", headers: bearer(key.secret), body: JSON.stringify(chat("chat-fast")) }), 503, "unavailable");
    } finally {
      await failing.close();
    }
  });

  it("does not admit (nor record) a request refused before admission", async () => {
    const before = gw.admission.admitted.length;
    await post("/v1/chat/completions", chat("secret-model"), bearer(key.secret));
    expect(gw.admission.admitted.length).toBe(before);
  });
});

describe("other routes", () => {
  it("answers 404 not_found for unknown paths and wrong methods", async () => {
    await expectError(await fetch(`${gw.url}/v2/whatever`), 404, "not_found");
    await expectError(await fetch(`${gw.url}/v1/chat/completions`), 404, "not_found");
  });

  it("is live at /healthz and ready at /readyz once a snapshot is loaded", async () => {
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: "ok" });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", snapshotVersion: "1" });
  });

  it("is not ready, and refuses inference with 503, before a snapshot is loaded", async () => {
    const empty = await startTestGateway(null);
    try {
      expect((await fetch(`${empty.url}/healthz`)).status).toBe(200);
      await expectError(await fetch(`${empty.url}/readyz`), 503, "unavailable");
      await expectError(await fetch(`${empty.url}/v1/chat/completions`, { method: "POST", headers: bearer(key.secret), body: "{}" }), 503, "unavailable");
    } finally {
      await empty.close();
    }
  });

  it("exposes Prometheus metrics with requests, rejections and the snapshot version", async () => {
    await post("/v1/chat/completions", chat("secret-model"), bearer(key.secret));
    const response = await fetch(`${gw.url}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/tollgate_requests_total\{route="chat",status="403"\} \d+/);
    expect(text).toMatch(/tollgate_rejections_total\{reason="access_denied"\} \d+/);
    expect(text).toContain("tollgate_snapshot_version 1");
    expect(text).toContain("tollgate_open_streams 0");
    gw.gateway.metrics.recordDegraded("fail_open");
    expect(await (await fetch(`${gw.url}/metrics`)).text()).toContain('tollgate_admission_degraded_total{kind="fail_open"} 1');
  });
});

describe("GET /v1/models", () => {
  it("lists the models the key may use in OpenAI's format", async () => {
    const response = await fetch(`${gw.url}/v1/models`, { headers: bearer(key.secret) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      object: "list",
      data: ["chat-fast", "chat-premium", "no-routes"].map((id) => ({ id, object: "model", created: 0, owned_by: "tollgate" })),
    });
  });

  it("lists only the key's own models when the key narrows its owner's", async () => {
    const body = await (await fetch(`${gw.url}/v1/models`, { headers: bearer(narrowKey.secret) })).json();
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(["chat-fast"]);
  });

  it("refuses to list without a valid key", async () => {
    await expectError(await fetch(`${gw.url}/v1/models`), 401, "invalid_api_key");
  });
});
