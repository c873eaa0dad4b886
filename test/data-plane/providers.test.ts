// Provider adapters (URLs, headers, bodies per kind) and the usage scanners against recorded-format streams.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EndpointKind, RouteTarget, UsageScanner } from "../../data-plane/contracts.ts";
import { MissingCredentialsError } from "../../data-plane/providers/missing-credentials.ts";
import { withStreamUsage } from "../../data-plane/providers/openai/stream-usage.ts";
import { adapterFor, PROVIDER_KINDS } from "../../data-plane/providers/registry.ts";

function route(providerKind: string, overrides: Partial<RouteTarget> = {}): RouteTarget {
  return {
    routeId: "r1",
    providerId: "p1",
    providerName: `${providerKind}-main`,
    providerKind,
    baseUrl: "https://api.openai.com/v1",
    credentials: "sk-secret",
    settings: {},
    providerModelId: "pm1",
    upstreamModel: "gpt-4o-mini",
    priority: 0,
    weight: 1,
    prices: { inputPerMTok: 0n, outputPerMTok: 0n, cachedInputPerMTok: 0n },
    ...overrides,
  };
}

function adapter(kind: string) {
  const found = adapterFor(kind);
  if (!found) throw new Error(`no adapter for ${kind}`);
  return found;
}

function build(kind: string, overrides: Partial<RouteTarget>, endpoint: EndpointKind, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return adapter(kind).buildRequest(route(kind, overrides), endpoint, body, headers);
}

describe("provider registry", () => {
  it("has an adapter for each supported kind and none for unknown kinds", () => {
    expect([...PROVIDER_KINDS].sort()).toEqual(["anthropic", "azure-openai", "openai", "openai-compatible"]);
    for (const kind of PROVIDER_KINDS) expect(adapter(kind).kind).toBe(kind);
    expect(adapterFor("bedrock")).toBeUndefined();
  });

  it("OpenAI-format adapters serve chat and embeddings; Anthropic serves messages and count_tokens", () => {
    for (const kind of ["openai", "openai-compatible", "azure-openai"]) {
      expect(adapter(kind).format).toBe("openai");
      expect([...adapter(kind).endpoints].sort()).toEqual(["chat", "embeddings"]);
    }
    expect(adapter("anthropic").format).toBe("anthropic");
    expect([...adapter("anthropic").endpoints].sort()).toEqual(["count_tokens", "messages"]);
  });

  it("refuses to build a request for an endpoint the adapter does not serve", () => {
    expect(() => build("openai", {}, "messages")).toThrow(/messages/);
    expect(() => build("anthropic", { baseUrl: "https://api.anthropic.com" }, "chat")).toThrow(/chat/);
  });
});

describe("openai adapter", () => {
  it("appends the endpoint path to an SDK-style base, whatever its trailing slashes", () => {
    for (const baseUrl of ["https://api.openai.com/v1", "https://api.openai.com/v1/", "https://api.openai.com/v1//"]) {
      expect(build("openai", { baseUrl }, "chat").url).toBe("https://api.openai.com/v1/chat/completions");
      expect(build("openai", { baseUrl }, "embeddings").url).toBe("https://api.openai.com/v1/embeddings");
    }
  });

  it("adds /v1 to a bare origin", () => {
    expect(build("openai", { baseUrl: "https://api.openai.com" }, "chat").url).toBe("https://api.openai.com/v1/chat/completions");
    expect(build("openai", { baseUrl: "https://api.openai.com/" }, "chat").url).toBe("https://api.openai.com/v1/chat/completions");
  });

  it("sends a Bearer key and the body exactly as given, unknown fields included", () => {
    const body = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true, some_future_field: { a: [1, null] } };
    const request = build("openai", {}, "chat", body, { authorization: "Bearer tg_client_key", "x-api-key": "tg_client_key" });
    expect(request.method).toBe("POST");
    expect(request.headers).toEqual({ authorization: "Bearer sk-secret", "content-type": "application/json", "accept-encoding": "identity" });
    expect(request.body).toBe(JSON.stringify(body));
  });

  it("refuses a route without credentials", () => {
    expect(() => build("openai", { credentials: null }, "chat")).toThrow(MissingCredentialsError);
  });
});

describe("openai-compatible adapter", () => {
  it("sends no authorization header when the provider has no key (Ollama, vLLM)", () => {
    const request = build("openai-compatible", { baseUrl: "http://localhost:11434", credentials: null }, "chat", { model: "llama3" });
    expect(request.url).toBe("http://localhost:11434/v1/chat/completions");
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toBe('{"model":"llama3"}');
  });

  it("sends a Bearer key when one is configured", () => {
    expect(build("openai-compatible", { baseUrl: "http://vllm:8000/v1" }, "embeddings").headers.authorization).toBe("Bearer sk-secret");
  });

  it("keeps a base path that is not /v1 as it is", () => {
    const baseUrl = "https://generativelanguage.googleapis.com/v1beta/openai/";
    expect(build("openai-compatible", { baseUrl }, "chat").url).toBe("https://generativelanguage.googleapis.com/v1beta/openai/chat/completions");
    expect(build("openai-compatible", { baseUrl: "https://api.groq.com/openai/v1" }, "chat").url).toBe("https://api.groq.com/openai/v1/chat/completions");
  });
});

describe("azure-openai adapter", () => {
  const azure = { baseUrl: "https://contoso.openai.azure.com", upstreamModel: "gpt4o-prod" };

  it("calls the route's deployment with the default api-version and an api-key header", () => {
    const body = { model: "gpt4o-prod", messages: [], stream: false };
    const request = build("azure-openai", azure, "chat", body);
    expect(request.url).toBe("https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21");
    expect(request.headers).toEqual({ "api-key": "sk-secret", "content-type": "application/json", "accept-encoding": "identity" });
    expect(request.body).toBe(JSON.stringify(body));
  });

  it("uses settings.apiVersion and tolerates a base ending in /openai/", () => {
    const request = build("azure-openai", { ...azure, baseUrl: "https://contoso.openai.azure.com/openai/", settings: { apiVersion: "2025-01-01-preview" } }, "embeddings");
    expect(request.url).toBe("https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/embeddings?api-version=2025-01-01-preview");
  });

  it("escapes deployment names in the path", () => {
    expect(build("azure-openai", { ...azure, upstreamModel: "a b/c" }, "chat").url).toContain("/deployments/a%20b%2Fc/chat/completions");
  });

  it("speaks Azure's v1 API when the base ends in /openai/v1", () => {
    expect(build("azure-openai", { ...azure, baseUrl: "https://contoso.openai.azure.com/openai/v1/" }, "chat").url).toBe(
      "https://contoso.openai.azure.com/openai/v1/chat/completions",
    );
  });

  it("refuses a route without credentials", () => {
    expect(() => build("azure-openai", { ...azure, credentials: null }, "chat")).toThrow(MissingCredentialsError);
  });
});

describe("anthropic adapter", () => {
  const anthropic = { baseUrl: "https://api.anthropic.com", upstreamModel: "claude-sonnet-4-5" };

  it("appends /v1/messages to the origin and does not double a base's /v1", () => {
    expect(build("anthropic", anthropic, "messages").url).toBe("https://api.anthropic.com/v1/messages");
    expect(build("anthropic", { baseUrl: "https://api.anthropic.com/" }, "count_tokens").url).toBe("https://api.anthropic.com/v1/messages/count_tokens");
    expect(build("anthropic", { baseUrl: "https://proxy.internal/anthropic/v1/" }, "messages").url).toBe("https://proxy.internal/anthropic/v1/messages");
  });

  it("sends x-api-key and the stable anthropic-version when the client sends none", () => {
    const request = build("anthropic", anthropic, "messages", { model: "claude-sonnet-4-5" }, { authorization: "Bearer tg_x" });
    expect(request.headers).toEqual({
      "x-api-key": "sk-secret",
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
      "accept-encoding": "identity",
    });
  });

  it("passes the client's anthropic-version and anthropic-beta through", () => {
    const headers = { "anthropic-version": "2024-10-22", "anthropic-beta": "prompt-caching-2024-07-31,interleaved-thinking-2025-05-14", "x-api-key": "tg_client" };
    const request = build("anthropic", anthropic, "messages", {}, headers);
    expect(request.headers["anthropic-version"]).toBe("2024-10-22");
    expect(request.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31,interleaved-thinking-2025-05-14");
    expect(request.headers["x-api-key"]).toBe("sk-secret");
  });

  it("leaves the body untouched, cache_control and thinking included", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      system: [{ type: "text", text: "You are terse.", cache_control: { type: "ephemeral", ttl: "1h" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }] }],
      thinking: { type: "enabled", budget_tokens: 2048 },
      stream: true,
    };
    expect(build("anthropic", anthropic, "messages", body).body).toBe(JSON.stringify(body));
  });

  it("refuses a route without credentials", () => {
    expect(() => build("anthropic", { ...anthropic, credentials: null }, "messages")).toThrow(MissingCredentialsError);
  });
});

describe("withStreamUsage", () => {
  it("asks a stream that did not ask for usage to include it, keeping the client's other options", () => {
    const body = { model: "m", stream: true, stream_options: { include_obfuscation: false } };
    const result = withStreamUsage(body);
    expect(result.injected).toBe(true);
    expect(result.body).toEqual({ model: "m", stream: true, stream_options: { include_obfuscation: false, include_usage: true } });
    expect(body.stream_options).toEqual({ include_obfuscation: false });
  });

  it("injects when the client turned usage off, and leaves a client's own request for usage alone", () => {
    expect(withStreamUsage({ stream: true, stream_options: { include_usage: false } }).injected).toBe(true);
    expect(withStreamUsage({ stream: true }).body.stream_options).toEqual({ include_usage: true });
    const asked = { stream: true, stream_options: { include_usage: true } };
    expect(withStreamUsage(asked)).toEqual({ body: asked, injected: false });
    expect(withStreamUsage(asked).body).toBe(asked);
  });

  it("leaves non-streamed bodies alone", () => {
    const body = { model: "m", stream: false };
    expect(withStreamUsage(body).body).toBe(body);
    expect(withStreamUsage({ model: "m" }).injected).toBe(false);
  });
});

// ---- usage scanners -------------------------------------------------------------------------------------------------

const sse = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const openAiChunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "chatcmpl-AbC123",
  object: "chat.completion.chunk",
  created: 1732000000,
  model: "gpt-4o-mini-2024-07-18",
  system_fingerprint: "fp_0ba0d124f1",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  usage: null,
});
const OPENAI_USAGE_EVENT = sse({
  id: "chatcmpl-AbC123",
  object: "chat.completion.chunk",
  created: 1732000000,
  model: "gpt-4o-mini-2024-07-18",
  system_fingerprint: "fp_0ba0d124f1",
  choices: [],
  usage: { prompt_tokens: 1219, completion_tokens: 42, total_tokens: 1261, prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
});
const OPENAI_BEFORE_USAGE =
  sse(openAiChunk({ role: "assistant", content: "", refusal: null })) +
  sse(openAiChunk({ content: "The \"usage\": {\"not\": \"this\"} " })) +
  sse(openAiChunk({ content: "héllo 👋" })) +
  sse(openAiChunk({}, "stop"));
const OPENAI_STREAM = OPENAI_BEFORE_USAGE + OPENAI_USAGE_EVENT + sse("[DONE]");
/** What a client that did not ask for usage receives: no usage event and no `"usage":null` members. */
const withoutNullUsage = (bytes: string) => bytes.replaceAll(',"usage":null', "");

const anthropicEvent = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const ANTHROPIC_STREAM =
  anthropicEvent("message_start", {
    message: {
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      type: "message",
      role: "assistant",
      content: [],
      model: "claude-sonnet-4-5-20250929",
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 25, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000, output_tokens: 1, service_tier: "standard" },
    },
  }) +
  anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
  anthropicEvent("ping", {}) +
  anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: 'Say "usage": {"output_tokens": 999}' } }) +
  anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: " ünïcödé ✓" } }) +
  anthropicEvent("content_block_stop", { index: 0 }) +
  anthropicEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 7 } }) +
  anthropicEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 15 } }) +
  anthropicEvent("message_stop", {});

/** Feeds `bytes` cut at the given points; returns everything the scanner forwarded, flush included. */
function run(scanner: UsageScanner, bytes: Buffer, cuts: number[] = []): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (cut <= at || cut >= bytes.length) continue;
    out.push(scanner.push(bytes.subarray(at, cut)));
    at = cut;
  }
  out.push(scanner.push(bytes.subarray(at)));
  out.push(scanner.flush());
  return Buffer.concat(out);
}

const cutsOf = (bytes: Buffer) => fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 });
const openAiScanner = (stream: boolean, hide: boolean, endpoint: EndpointKind = "chat") => adapter("openai").usageScanner(endpoint, stream, hide);
const anthropicScanner = (stream: boolean, endpoint: EndpointKind = "messages") => adapter("anthropic").usageScanner(endpoint, stream, false);

describe("OpenAI stream usage scanner", () => {
  const bytes = Buffer.from(OPENAI_STREAM);
  const expected = { inputTokens: 1219, outputTokens: 42, cachedTokens: 1024 };

  it("reads prompt, completion and cached tokens from the usage chunk and forwards the stream unchanged", () => {
    const scanner = openAiScanner(true, false);
    expect(run(scanner, bytes).equals(bytes)).toBe(true);
    expect(scanner.usage()).toEqual(expected);
  });

  it("finds the usage whatever byte the stream is split at", () => {
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        const scanner = openAiScanner(true, false);
        expect(run(scanner, bytes, cuts).equals(bytes)).toBe(true);
        expect(scanner.usage()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("hides exactly what asking for usage added (the usage event, the usage: null members), at any split", () => {
    const withoutUsage = Buffer.from(withoutNullUsage(OPENAI_BEFORE_USAGE) + sse("[DONE]"));
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        const scanner = openAiScanner(true, true);
        expect(run(scanner, bytes, cuts).equals(withoutUsage)).toBe(true);
        expect(scanner.usage()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("handles CRLF-framed events (some servers) the same way", () => {
    const crlf = Buffer.from(OPENAI_STREAM.replaceAll("\n\n", "\r\n\r\n"));
    const withoutUsage = Buffer.from((withoutNullUsage(OPENAI_BEFORE_USAGE) + sse("[DONE]")).replaceAll("\n\n", "\r\n\r\n"));
    fc.assert(
      fc.property(cutsOf(crlf), (cuts) => {
        const scanner = openAiScanner(true, true);
        expect(run(scanner, crlf, cuts).equals(withoutUsage)).toBe(true);
        expect(scanner.usage()).toEqual(expected);
      }),
      { numRuns: 100 },
    );
  });

  it("cuts a usage: null member wherever it stands in the chunk, spaced or not, and leaves valid JSON", () => {
    const events = ['{"usage": null, "id": "a", "choices": []}', '{"id":"b","usage" : null}', '{"usage":null}', '{"id":"c","choices":[{"delta":{"content":"\\"usage\\":null"}}],"usage":null}'];
    const stream = Buffer.from(events.map((e) => `data: ${e}\n\n`).join("") + sse("[DONE]"));
    const out = run(openAiScanner(true, true), stream, [7, 30, 61]).toString();
    const datas = out.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
    expect(datas).toEqual([{ id: "a", choices: [] }, { id: "b" }, { usage: null }, { id: "c", choices: [{ delta: { content: '"usage":null' } }] }]);
  });

  it("keeps usage: null when the client asked for usage itself", () => {
    const scanner = openAiScanner(true, false);
    expect(run(scanner, Buffer.from(OPENAI_BEFORE_USAGE)).toString()).toBe(OPENAI_BEFORE_USAGE);
  });

  it("never hides a chunk that carries choices as well as usage", () => {
    const combined = openAiChunk({}, "stop") as Record<string, unknown>;
    combined.usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
    const stream = Buffer.from(sse(openAiChunk({ content: "hi" })) + sse(combined) + sse("[DONE]"));
    const scanner = openAiScanner(true, true);
    expect(run(scanner, stream, [10, 200]).toString()).toBe(withoutNullUsage(stream.toString()));
    expect(scanner.usage()).toEqual({ inputTokens: 5, outputTokens: 3, cachedTokens: 0 });
  });

  it("treats a usage chunk with choices: null (vLLM) as the usage-only chunk", () => {
    const usageEvent = sse({ id: "x", object: "chat.completion.chunk", choices: null, usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } });
    const stream = Buffer.from(sse(openAiChunk({ content: "hi" })) + usageEvent + sse("[DONE]"));
    const scanner = openAiScanner(true, true);
    expect(run(scanner, stream).toString()).toBe(withoutNullUsage(sse(openAiChunk({ content: "hi" }))) + sse("[DONE]"));
    expect(scanner.usage()).toEqual({ inputTokens: 9, outputTokens: 4, cachedTokens: 0 });
  });

  it("holds back a partial event while hiding, and releases an unterminated last event at flush", () => {
    const scanner = openAiScanner(true, true);
    const first = sse(openAiChunk({ content: "a" }));
    expect(scanner.push(Buffer.from(first + "data: {\"id\"")).toString()).toBe(withoutNullUsage(first));
    expect(scanner.push(Buffer.from(':"x","choices":[{"index":0}]}')).length).toBe(0);
    expect(scanner.flush().toString()).toBe('data: {"id":"x","choices":[{"index":0}]}');
  });

  it("reports zero usage for a stream cut off before its usage chunk", () => {
    const scanner = openAiScanner(true, false);
    run(scanner, Buffer.from(OPENAI_BEFORE_USAGE));
    expect(scanner.usage()).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
  });

  it("gives up scanning, but still forwards every byte, when an event exceeds 1 MiB", () => {
    const huge = Buffer.from(`data: {"pad":"${"x".repeat(1_200_000)}"}\n\n` + OPENAI_USAGE_EVENT + sse("[DONE]"));
    const cuts = Array.from({ length: 30 }, (_, i) => (i + 1) * 40_000);
    expect(run(openAiScanner(true, true), huge, cuts).equals(huge)).toBe(true);
    expect(run(openAiScanner(true, false), huge, cuts).equals(huge)).toBe(true);
  });
});

describe("provider error events inside a 200 stream", () => {
  // Model text that quotes an error event is escaped inside a JSON string, so it never starts an event.
  const quoting = (format: "openai" | "anthropic") =>
    format === "openai"
      ? sse(openAiChunk({ content: 'data: {"error": 1}\n\nevent: error\n' }))
      : anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: 'event: error\ndata: {"error"' } });
  const OPENAI_FAILED = OPENAI_BEFORE_USAGE + quoting("openai") + 'data: {"error":{"message":"boom","type":"server_error","code":null}}\n\n';
  const ANTHROPIC_FAILED =
    ANTHROPIC_STREAM.slice(0, ANTHROPIC_STREAM.indexOf("event: content_block_stop")) +
    quoting("anthropic") +
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';

  it("are seen at any split, in both formats, and the bytes still pass unchanged", () => {
    for (const [make, text] of [
      [() => openAiScanner(true, false), OPENAI_FAILED],
      [() => anthropicScanner(true), ANTHROPIC_FAILED],
    ] as const) {
      const bytes = Buffer.from(text);
      fc.assert(
        fc.property(cutsOf(bytes), (cuts) => {
          const scanner = make();
          expect(run(scanner, bytes, cuts).equals(bytes)).toBe(true);
          expect(scanner.providerFailed()).toBe(true);
        }),
        { numRuns: 200 },
      );
    }
  });

  it("are seen in a last event without its blank line", () => {
    const scanner = openAiScanner(true, true);
    run(scanner, Buffer.from(`${OPENAI_BEFORE_USAGE}data: {"error":{"message":"boom"}}`));
    expect(scanner.providerFailed()).toBe(true);
  });

  it("are not claimed for streams whose text only quotes one, nor for JSON answers", () => {
    const openai = openAiScanner(true, true);
    run(openai, Buffer.from(OPENAI_BEFORE_USAGE + quoting("openai") + OPENAI_USAGE_EVENT + sse("[DONE]")));
    expect(openai.providerFailed()).toBe(false);
    const anthropic = anthropicScanner(true);
    run(anthropic, Buffer.from(ANTHROPIC_STREAM.replace("event: message_stop", `${quoting("anthropic")}event: message_stop`)));
    expect(anthropic.providerFailed()).toBe(false);
    const json = openAiScanner(false, false);
    run(json, Buffer.from('{"error":{"message":"a 200 body is not inspected"}}'));
    expect(json.providerFailed()).toBe(false);
  });
});

describe("Anthropic stream usage scanner", () => {
  const bytes = Buffer.from(ANTHROPIC_STREAM);
  // input = 25 uncached + 100 cache writes + 2000 cache reads; cached = the reads; output = the last cumulative delta.
  const expected = { inputTokens: 2125, outputTokens: 15, cachedTokens: 2000 };

  it("takes input and cache counts from message_start and the last output count from message_delta", () => {
    const scanner = anthropicScanner(true);
    expect(run(scanner, bytes).equals(bytes)).toBe(true);
    expect(scanner.usage()).toEqual(expected);
  });

  it("finds the usage whatever byte the stream is split at, forwarding it unchanged", () => {
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        const scanner = anthropicScanner(true);
        expect(run(scanner, bytes, cuts).equals(bytes)).toBe(true);
        expect(scanner.usage()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("lets cumulative input counts on a later message_delta win", () => {
    const stream =
      anthropicEvent("message_start", { message: { usage: { input_tokens: 10, output_tokens: 1 } } }) +
      anthropicEvent("message_delta", { delta: {}, usage: { input_tokens: 12, cache_read_input_tokens: 3, output_tokens: 20 } });
    const scanner = anthropicScanner(true);
    run(scanner, Buffer.from(stream));
    expect(scanner.usage()).toEqual({ inputTokens: 15, outputTokens: 20, cachedTokens: 3 });
  });

  it("keeps the input count of a stream cut off before message_delta", () => {
    const scanner = anthropicScanner(true);
    run(scanner, Buffer.from(ANTHROPIC_STREAM.slice(0, ANTHROPIC_STREAM.indexOf("event: message_delta"))));
    expect(scanner.usage()).toEqual({ inputTokens: 2125, outputTokens: 1, cachedTokens: 2000 });
  });
});

describe("JSON usage scanners", () => {
  it("reads an OpenAI chat completion's usage once the body is complete, at any split", () => {
    const body = Buffer.from(
      JSON.stringify({
        id: "chatcmpl-1",
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: 'the "usage": {"prompt_tokens": 1}' }, finish_reason: "stop" }],
        usage: { prompt_tokens: 300, completion_tokens: 20, total_tokens: 320, prompt_tokens_details: { cached_tokens: 256 } },
      }),
    );
    fc.assert(
      fc.property(cutsOf(body), (cuts) => {
        const scanner = openAiScanner(false, false);
        expect(run(scanner, body, cuts).equals(body)).toBe(true);
        expect(scanner.usage()).toEqual({ inputTokens: 300, outputTokens: 20, cachedTokens: 256 });
      }),
      { numRuns: 50 },
    );
  });

  it("reads embeddings usage as input tokens", () => {
    const body = Buffer.from(
      JSON.stringify({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.0023, -0.0093] }], model: "text-embedding-3-small", usage: { prompt_tokens: 8, total_tokens: 8 } }),
    );
    const scanner = openAiScanner(false, false, "embeddings");
    expect(run(scanner, body).equals(body)).toBe(true);
    expect(scanner.usage()).toEqual({ inputTokens: 8, outputTokens: 0, cachedTokens: 0 });
  });

  it("reads the usage at the end of a multi-megabyte embeddings body without keeping all of it", () => {
    const vectors = Array.from({ length: 200 }, (_, index) => ({ object: "embedding", index, embedding: Array.from({ length: 1536 }, (_, i) => Math.sin(index + i)) }));
    const body = Buffer.from(JSON.stringify({ object: "list", data: vectors, model: "text-embedding-3-small", usage: { prompt_tokens: 4096, total_tokens: 4096 } }));
    expect(body.length).toBeGreaterThan(2_000_000);
    const scanner = openAiScanner(false, false, "embeddings");
    const cuts = Array.from({ length: Math.floor(body.length / 65_536) }, (_, i) => (i + 1) * 65_536 - 7);
    expect(run(scanner, body, cuts).equals(body)).toBe(true);
    expect(scanner.usage()).toEqual({ inputTokens: 4096, outputTokens: 0, cachedTokens: 0 });
  });

  it("reads an Anthropic message's usage, counting cache writes and reads as input", () => {
    const body = Buffer.from(
      JSON.stringify({
        id: "msg_1",
        type: "message",
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_1", name: "report", input: { usage: { cpu: 3 } } }],
        stop_reason: "tool_use",
        usage: { input_tokens: 50, cache_creation_input_tokens: 10, cache_read_input_tokens: 40, output_tokens: 30 },
      }),
    );
    const scanner = anthropicScanner(false);
    expect(run(scanner, body, [17, 90]).equals(body)).toBe(true);
    expect(scanner.usage()).toEqual({ inputTokens: 100, outputTokens: 30, cachedTokens: 40 });
  });

  it("charges nothing for count_tokens and relays its body", () => {
    const body = Buffer.from('{"input_tokens":2095}');
    const scanner = anthropicScanner(false, "count_tokens");
    expect(run(scanner, body).equals(body)).toBe(true);
    expect(scanner.usage()).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
  });

  it("reports zero usage for error bodies and malformed JSON", () => {
    for (const text of ['{"error":{"message":"Rate limit reached","type":"requests"}}', '{"usage":{"prompt_tokens":', "<html>502</html>", ""]) {
      const scanner = openAiScanner(false, false);
      run(scanner, Buffer.from(text));
      expect(scanner.usage()).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
    }
  });
});

// ---- what a stream cut before its usage report is charged for: complete() and producedEvents() ----------------------

describe("usage completeness and produced content deltas", () => {
  it("OpenAI: counts the content deltas only (not the role, finish and usage chunks or [DONE]), at any split", () => {
    const bytes = Buffer.from(OPENAI_STREAM);
    fc.assert(
      fc.property(cutsOf(bytes), fc.boolean(), (cuts, hide) => {
        const scanner = openAiScanner(true, hide);
        run(scanner, bytes, cuts);
        expect(scanner.complete()).toBe(true);
        expect(scanner.producedEvents()).toBe(2);
      }),
      { numRuns: 200 },
    );
  });

  it("OpenAI: a stream cut before the usage chunk is incomplete, with its deltas counted and its usage still zero", () => {
    const bytes = Buffer.from(OPENAI_BEFORE_USAGE);
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        const scanner = openAiScanner(true, true);
        run(scanner, bytes, cuts);
        expect(scanner.complete()).toBe(false);
        expect(scanner.producedEvents()).toBe(2);
        expect(scanner.usage()).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
      }),
      { numRuns: 100 },
    );
  });

  it("OpenAI: counts tool-call argument and reasoning deltas, spaced JSON and CRLF framing; not empty or filter chunks", () => {
    const stream =
      sse(openAiChunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] })) +
      sse(openAiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"lo' } }] })) +
      sse(openAiChunk({ tool_calls: [{ index: 0, function: { arguments: 'c":1}' } }] })) +
      sse(openAiChunk({ reasoning_content: "hmm" })) +
      'data: {"choices": [{"index": 0, "delta": {"content": "spaced"}}]}\n\n' +
      sse({ choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false } } }] }) +
      sse(openAiChunk({ content: 'say \\"content\\":\\"x' })) +
      ": keep-alive comment\n\n" +
      sse("[DONE]");
    const scanner = openAiScanner(true, false);
    run(scanner, Buffer.from(stream.replaceAll("\n\n", "\r\n\r\n")), [7, 300, 301, 302]);
    expect(scanner.complete()).toBe(false);
    expect(scanner.producedEvents()).toBe(5);
  });

  it("OpenAI: an unterminated last event still counts at flush", () => {
    const scanner = openAiScanner(true, false);
    run(scanner, Buffer.from(sse(openAiChunk({ content: "a" })) + 'data: {"choices":[{"delta":{"content":"b"}}]}'));
    expect(scanner.producedEvents()).toBe(2);
  });

  it("OpenAI: counts every delta of a long stream read in large chunks", () => {
    const piece = sse(openAiChunk({ content: "tok " }));
    const bytes = Buffer.from(sse(openAiChunk({ role: "assistant", content: "" })) + piece.repeat(5000));
    const scanner = openAiScanner(true, true);
    const cuts = Array.from({ length: Math.floor(bytes.length / 16_384) }, (_, i) => (i + 1) * 16_384);
    expect(run(scanner, bytes, cuts).toString()).toBe(withoutNullUsage(bytes.toString()));
    expect(scanner.producedEvents()).toBe(5000);
  });

  it("Anthropic: complete once message_delta reported usage; deltas counted either way, at any split", () => {
    const bytes = Buffer.from(ANTHROPIC_STREAM);
    fc.assert(
      fc.property(cutsOf(bytes), (cuts) => {
        const scanner = anthropicScanner(true);
        run(scanner, bytes, cuts);
        expect(scanner.complete()).toBe(true);
        expect(scanner.producedEvents()).toBe(2);
      }),
      { numRuns: 200 },
    );
    const cut = Buffer.from(ANTHROPIC_STREAM.slice(0, ANTHROPIC_STREAM.indexOf("event: message_delta")));
    const scanner = anthropicScanner(true);
    run(scanner, cut, [50, 400]);
    expect(scanner.complete()).toBe(false);
    expect(scanner.producedEvents()).toBe(2);
  });

  it("Anthropic: counts thinking and tool-input deltas, not text that merely mentions content_block_delta", () => {
    const stream =
      anthropicEvent("message_start", { message: { usage: { input_tokens: 10, output_tokens: 1 } } }) +
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: 'a "content_block_delta" b' } }) +
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }) +
      anthropicEvent("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: '{"a":' } }) +
      anthropicEvent("ping", {});
    const scanner = anthropicScanner(true);
    run(scanner, Buffer.from(stream));
    expect(scanner.complete()).toBe(false);
    expect(scanner.producedEvents()).toBe(2);
    expect(scanner.usage()).toEqual({ inputTokens: 10, outputTokens: 1, cachedTokens: 0 });
  });

  it("JSON: complete only when the body's usage was read; no deltas; count_tokens is always complete", () => {
    const whole = openAiScanner(false, false);
    run(whole, Buffer.from('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}'));
    expect([whole.complete(), whole.producedEvents()]).toEqual([true, 0]);
    for (const text of ['{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tok', '{"choices":[]}', ""]) {
      const cut = openAiScanner(false, false);
      run(cut, Buffer.from(text));
      expect([cut.complete(), cut.producedEvents()]).toEqual([false, 0]);
    }
    const counting = anthropicScanner(false, "count_tokens");
    run(counting, Buffer.from('{"input_tokens":5}'));
    expect(counting.complete()).toBe(true);
  });
});
