// The mock provider speaks OpenAI, Azure OpenAI and Anthropic well enough for their official SDKs, and its controls work.
import { request as httpRequest } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type MockLiveStats,
  type MockProvider,
  type RecordedRequest,
  STATS_PATH,
  mockChunksIn,
  mockCompletionText,
  mockInputTokens,
  mockUsage,
  resolveBehavior,
  startMockProvider,
} from "./mock-provider.ts";

let mock: MockProvider;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  mock = await startMockProvider();
  openai = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: "sk-provider-openai", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: mock.url, apiKey: "sk-ant-provider", maxRetries: 0 });
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Say hello to the mock provider, please." },
];

function last(): RecordedRequest {
  const rec = mock.requests.at(-1);
  if (!rec) throw new Error("no request recorded");
  return rec;
}

// libuv timers run on a millisecond loop clock, so a wait can end up to 1 ms before performance.now() says it should.
const TIMER_SLACK_MS = 1;

describe("OpenAI wire format", () => {
  it("answers a non-stream chat completion with deterministic usage", async () => {
    const completion = await openai.chat.completions.create({ model: "mock-chunks-5", messages });
    const expected = mockUsage("chat", { model: "mock-chunks-5", messages });
    expect(expected).toEqual({ inputTokens: mockInputTokens({ messages }), outputTokens: 5, cachedTokens: 0 });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toBe(mockCompletionText(5));
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: expected.inputTokens, completion_tokens: 5, total_tokens: expected.inputTokens + 5 });
    expect(last()).toMatchObject({ method: "POST", path: "/v1/chat/completions", endpoint: "chat", credential: "sk-provider-openai", status: 200 });
    expect(last().body.messages).toEqual(messages);
  });

  it("streams N content chunks and, with include_usage, a final chunk with empty choices and the usage", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-test", messages, stream: true, stream_options: { include_usage: true } },
      { headers: { "x-mock-chunks": "12", "x-mock-cached-tokens": "3" } },
    );
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const content = chunks.filter((c) => c.choices[0]?.delta.content);
    expect(content).toHaveLength(12);
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const final = chunks.at(-1)!;
    expect(final.choices).toEqual([]);
    const input = mockInputTokens({ messages });
    expect(final.usage).toMatchObject({ prompt_tokens: input, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 3 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("stop");
    expect(last()).toMatchObject({ stream: true, contentChunksSent: 12, clientAborted: false });
  });

  it("streams without a usage chunk when include_usage is not set, and honours max_tokens", async () => {
    const stream = await openai.chat.completions.create({ model: "mock-chunks-10", messages, stream: true, max_tokens: 4 });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(4);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });

  it("answers embeddings with usage, as base64 (the SDK default) or floats", async () => {
    const input = ["first text to embed", "second"];
    const base64 = await openai.embeddings.create({ model: "embed-mock", input });
    expect(base64.data).toHaveLength(2);
    expect(base64.data[0]?.embedding).toHaveLength(8);
    expect(base64.usage).toEqual({ prompt_tokens: mockInputTokens({ input }), total_tokens: mockInputTokens({ input }) });
    const floats = await openai.embeddings.create({ model: "embed-mock", input: "one", encoding_format: "float", dimensions: 4 });
    expect(floats.data[0]?.embedding).toHaveLength(4);
    expect(floats.data[0]?.embedding[0]).toBeCloseTo(Math.sin(1), 5);
    expect(Array.from(base64.data[1]!.embedding).slice(0, 4)).toEqual(floats.data[0]?.embedding);
  });

  it("lists models", async () => {
    const page = await openai.models.list();
    expect(page.data.map((m) => m.id)).toEqual(["mock-model"]);
  });

  it("turns an error control into an APIError with the status, the provider's error JSON and Retry-After", async () => {
    const error = await openai.chat.completions.create({ model: "mock-status-429-retry-3", messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(apiError.code).toBe("rate_limit_exceeded");
    expect(apiError.headers?.get("retry-after")).toBe("3");

    const server = await openai.chat.completions.create({ model: "x", messages, metadata: { mock: '{"status":500}' } }).catch((e: unknown) => e);
    expect(server).toBeInstanceOf(OpenAI.InternalServerError);
    expect((server as InstanceType<typeof OpenAI.APIError>).type).toBe("server_error");
  });

  it("fails a stream mid-way by cutting the connection after N chunks, or with an error event", async () => {
    const cut = await openai.chat.completions.create({ model: "mock-chunks-6-fail-2", messages, stream: true });
    const received: string[] = [];
    const cutError = await (async () => {
      for await (const chunk of cut) if (chunk.choices[0]?.delta.content) received.push(chunk.choices[0].delta.content);
    })().catch((e: unknown) => e);
    expect(cutError).toBeInstanceOf(Error);
    expect(received).toHaveLength(2);
    expect(last().clientAborted).toBe(false);

    const evented = await openai.chat.completions.create({ model: "mock-chunks-6-failevent-3", messages, stream: true });
    const eventError = await (async () => {
      for await (const _ of evented);
    })().catch((e: unknown) => e);
    expect(eventError).toBeInstanceOf(OpenAI.APIError);
    expect(String((eventError as Error).message)).toContain("server had an error");
  });
});

describe("Azure OpenAI wire format", () => {
  it("serves the deployment URLs with api-version and the api-key header", async () => {
    const azure = new AzureOpenAI({ endpoint: mock.url, apiKey: "azure-provider-key", deployment: "mock-chunks-3", apiVersion: "2024-10-21", maxRetries: 0 });
    const completion = await azure.chat.completions.create({ model: "gpt-4o", messages });
    expect(completion.choices[0]?.message.content).toBe(mockCompletionText(3));
    expect(completion.usage?.completion_tokens).toBe(3);
    expect(last()).toMatchObject({
      path: "/openai/deployments/mock-chunks-3/chat/completions",
      query: { "api-version": "2024-10-21" },
      deployment: "mock-chunks-3",
      credential: "azure-provider-key",
    });
    expect(last().headers["api-key"]).toBe("azure-provider-key");

    const stream = await azure.chat.completions.create({ model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage?.completion_tokens).toBe(3);

    const embeddings = await azure.embeddings.create({ model: "embed", input: "text" });
    expect(embeddings.usage.prompt_tokens).toBe(1);
    expect(last().path).toBe("/openai/deployments/mock-chunks-3/embeddings");
  });

  it("answers 404 without an api-version, as Azure does", async () => {
    const res = await fetch(`${mock.url}/openai/deployments/d/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "api-key": "k" },
      body: JSON.stringify({ messages }),
    });
    expect(res.status).toBe(404);
  });
});

describe("Anthropic wire format", () => {
  const anthropicMessages = [{ role: "user" as const, content: [{ type: "text" as const, text: "Hello from a content block." }] }];

  it("answers a non-stream message with usage, capped by max_tokens", async () => {
    const message = await anthropic.messages.create({ model: "claude-mock", max_tokens: 3, system: "Be brief.", messages: anthropicMessages });
    const expected = mockUsage("messages", { system: "Be brief.", messages: anthropicMessages, max_tokens: 3 });
    expect(expected.outputTokens).toBe(3);
    expect(message.content).toEqual([{ type: "text", text: mockCompletionText(3) }]);
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.usage).toMatchObject({ input_tokens: expected.inputTokens, output_tokens: 3, cache_read_input_tokens: 0 });
    expect(last()).toMatchObject({ path: "/v1/messages", endpoint: "messages", credential: "sk-ant-provider" });
    // This SDK version sends the key as a bearer token; x-api-key is recognised too (see the 400 test below).
    expect(last().headers.authorization).toBe("Bearer sk-ant-provider");
    expect(last().headers["anthropic-version"]).toBeTypeOf("string");
  });

  it("streams the message events; finalMessage() has the usage, cached tokens split out as cache reads", async () => {
    const body = { model: "claude-mock-chunks-7", max_tokens: 100, messages: anthropicMessages, metadata: { user_id: '{"cachedTokens":2}' } };
    const events: string[] = [];
    const stream = anthropic.messages.stream(body);
    stream.on("streamEvent", (event) => events.push(event.type));
    const final = await stream.finalMessage();
    const expected = mockUsage("messages", body);
    expect(expected).toMatchObject({ outputTokens: 7, cachedTokens: 2 });
    expect(final.usage).toMatchObject({ input_tokens: expected.inputTokens - 2, cache_read_input_tokens: 2, output_tokens: 7 });
    expect(final.content).toMatchObject([{ type: "text", text: mockCompletionText(7) }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(events[0]).toBe("message_start");
    expect(events.filter((e) => e === "content_block_delta")).toHaveLength(7);
    expect(events.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
  });

  it("counts tokens", async () => {
    const counted = await anthropic.messages.countTokens({ model: "claude-mock", messages: anthropicMessages });
    expect(counted.input_tokens).toBe(mockInputTokens({ messages: anthropicMessages }));
    expect(last()).toMatchObject({ path: "/v1/messages/count_tokens", endpoint: "count_tokens" });
  });

  it("answers error controls with Anthropic's error JSON", async () => {
    const error = await anthropic.messages.create({ model: "mock-status-529", max_tokens: 5, messages: anthropicMessages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error", error: { type: "overloaded_error" } });
  });

  it("rejects a request without max_tokens or anthropic-version, as the real API does", async () => {
    const res = await fetch(`${mock.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "k" },
      body: JSON.stringify({ model: "m", max_tokens: 5, messages: anthropicMessages }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(last().credential).toBe("k");
  });

  it("surfaces a mid-stream failure as an error, by cut connection or by error event", async () => {
    for (const model of ["mock-chunks-6-fail-2", "mock-chunks-6-failevent-2"]) {
      const stream = anthropic.messages.stream({ model, max_tokens: 100, messages: anthropicMessages });
      const error = await stream.finalMessage().catch((e: unknown) => e);
      expect(error, model).toBeInstanceOf(Error);
    }
    const evented = anthropic.messages.stream({ model: "mock-failevent-1", max_tokens: 100, messages: anthropicMessages });
    const error = await evented.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: "overloaded_error" } });
  });
});

describe("timing, aborts, backpressure and credentials", () => {
  it("delays the first byte by ttfb and each chunk by delay", async () => {
    let started = performance.now();
    await openai.chat.completions.create({ model: "mock-ttfb-150", messages });
    expect(performance.now() - started).toBeGreaterThanOrEqual(150 - TIMER_SLACK_MS);

    started = performance.now();
    const stream = await openai.chat.completions.create({ model: "m", messages, stream: true }, { headers: { "x-mock-chunks": "5", "x-mock-delay-ms": "30" } });
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - started);
    expect(arrivals).toHaveLength(5);
    expect(arrivals[0]).toBeGreaterThanOrEqual(30 - TIMER_SLACK_MS);
    expect(arrivals[4]).toBeGreaterThanOrEqual(150 - TIMER_SLACK_MS);
  });

  it("records a client that aborts a stream", async () => {
    const stream = await openai.chat.completions.create({ model: "mock-chunks-100-delay-20", messages, stream: true });
    let seen = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++seen === 2) break; // breaking aborts the request
    }
    const rec = last();
    await rec.closed;
    expect(rec.clientAborted).toBe(true);
    expect(rec.contentChunksSent).toBeLessThan(100);
    expect(mock.stats.clientAborts).toBe(1);
  });

  it("never answers a hanging request, and records the client giving up", async () => {
    const error = await anthropic.messages
      .create({ model: "mock-hang", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }, { timeout: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const rec = last();
    await rec.closed;
    expect(rec).toMatchObject({ status: 0, clientAborted: true });
  });

  it("stalls a stream after N chunks: no end, no error, until the client gives up", async () => {
    const controller = new AbortController();
    const response = await fetch(`${mock.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "mock-chunks-10-stall-3", messages, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = "";
    while (mockChunksIn(text) < 3) text += new TextDecoder().decode((await reader.read()).value);
    const next = reader.read().then(() => "more", () => "gone");
    expect(await Promise.race([next, new Promise((r) => setTimeout(() => r("silent"), 300))])).toBe("silent");
    controller.abort();
    const rec = last();
    await rec.closed;
    expect(rec).toMatchObject({ contentChunksSent: 3, clientAborted: true });
    expect(resolveBehavior({ model: "x" }, { "x-mock-stall-after": "2" }).stallAfter).toBe(2);
  });

  it("waits for 'drain' when a slow reader applies backpressure, and still delivers every chunk", async () => {
    const chunks = 20_000;
    const body = JSON.stringify({ model: `mock-chunks-${chunks}`, messages, stream: true });
    const text = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${mock.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.pause(); // read nothing for a while: the socket buffers fill up
        setTimeout(() => {
          const parts: Buffer[] = [];
          res.on("data", (part: Buffer) => parts.push(part));
          res.on("end", () => resolve(Buffer.concat(parts).toString()));
          res.resume();
        }, 200);
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(text.split('"content":"tok "').length - 1).toBe(chunks);
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(last().drainWaits).toBeGreaterThan(0);
    expect(mock.stats.drainWaits).toBe(last().drainWaits);
  });

  it("serves live stats at STATS_PATH: streams open, those waiting for 'drain', bytes written", async () => {
    const stats = async () => (await (await fetch(`${mock.url}${STATS_PATH}`)).json()) as MockLiveStats;
    // ~20 MB: more than loopback's socket buffers take, so the mock must wait while nothing is read.
    const body = JSON.stringify({ model: "mock-chunks-100000", messages, stream: true });
    let resume!: () => void;
    const received = new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${mock.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        res.pause();
        let bytes = 0;
        res.on("data", (part: Buffer) => (bytes += part.length));
        res.on("end", () => resolve(bytes));
        resume = () => res.resume();
      });
      req.on("error", reject);
      req.end(body);
    });
    let paused: MockLiveStats | null = null;
    for (let i = 0; i < 200 && paused === null; i++) {
      const now = await stats();
      if (now.streamsWaitingDrain === 1) paused = now;
      else await new Promise((r) => setTimeout(r, 25));
    }
    expect(paused).toMatchObject({ streamsOpen: 1, streamsWaitingDrain: 1 });
    expect(paused!.streamBytes).toBeGreaterThan(0);
    resume();
    const bytes = await received;
    await last().closed;
    expect(await stats()).toMatchObject({ requests: 1, streamsOpen: 0, streamsWaitingDrain: 0, streamBytesQueued: 0, streamBytes: bytes });
  });

  it("answers the same request with the same bytes under the `stable` control (no per-request id or timestamp)", async () => {
    const body = (model: string) => JSON.stringify({ model, max_tokens: 3, messages, stream: true });
    const post = async (path: string, model: string) =>
      (await fetch(`${mock.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: body(model) })).text();
    for (const path of ["/v1/chat/completions", "/v1/messages"]) {
      const [a, b] = [await post(path, "mock-chunks-3-stable"), await post(path, "mock-chunks-3-stable")];
      expect(a).toBe(b);
      expect(a).toContain("tok ");
      expect(await post(path, "mock-chunks-3")).not.toBe(await post(path, "mock-chunks-3"));
    }
  });

  it("answers 401 in the provider's format when a required credential is missing or wrong", async () => {
    const strict = await startMockProvider({ requireCredential: "right-key" });
    try {
      const wrong = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: "wrong-key", maxRetries: 0 });
      await expect(wrong.chat.completions.create({ model: "m", messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      const wrongAnthropic = new Anthropic({ baseURL: strict.url, apiKey: "wrong-key", maxRetries: 0 });
      await expect(wrongAnthropic.messages.create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
        Anthropic.AuthenticationError,
      );
      const right = new OpenAI({ baseURL: `${strict.url}/v1`, apiKey: "right-key", maxRetries: 0 });
      expect((await right.chat.completions.create({ model: "m", messages })).usage?.completion_tokens).toBe(8);
      expect(strict.requests.map((r) => r.credential)).toEqual(["wrong-key", "wrong-key", "right-key"]);
    } finally {
      await strict.close();
    }
  });

  it("applies server-wide defaults, overridden per request, and reset() restores them", async () => {
    mock.setDefaults({ chunks: 2 });
    expect((await openai.chat.completions.create({ model: "m", messages })).usage?.completion_tokens).toBe(2);
    expect((await openai.chat.completions.create({ model: "m", messages, user: '{"mock":{"chunks":4}}' })).usage?.completion_tokens).toBe(4);
    mock.reset();
    expect(mock.requests).toHaveLength(0);
    expect((await openai.chat.completions.create({ model: "m", messages })).usage?.completion_tokens).toBe(8);
  });
});

describe("usage and control functions", () => {
  it("counts characters of system, message contents and content blocks, a quarter each, at least 1", () => {
    expect(mockInputTokens({ messages: [] })).toBe(1);
    expect(mockInputTokens({ system: [{ type: "text", text: "abcd" }], messages: [{ role: "user", content: "efghi" }] })).toBe(3);
    expect(mockInputTokens({ input: [[1, 2, 3]] })).toBe(3);
  });

  it("resolves controls with headers over JSON over the model name over defaults", () => {
    const body = { model: "mock-chunks-3-delay-5-hang", metadata: { mock: { chunks: 4 } } };
    expect(resolveBehavior(body)).toMatchObject({ chunks: 4, delayMs: 5, hang: true, stable: false });
    expect(resolveBehavior({ model: "mock-stable-chunks-2" })).toMatchObject({ chunks: 2, stable: true });
    expect(resolveBehavior(body, { "x-mock-chunks": "6", "x-mock-hang": "0" })).toMatchObject({ chunks: 6, hang: false });
    expect(resolveBehavior({ model: "gpt-4o-mini" })).toMatchObject({ chunks: 8, status: null, failAfter: null });
  });
});
