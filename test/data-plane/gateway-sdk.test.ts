// End to end with the official SDKs: OpenAI and Anthropic clients → the gateway → the mock provider, streamed or not.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mockCompletionText, startMockProvider, type MockProvider } from "../support/mock-provider.ts";
import { keyFor, principal, routeTo, snapshotOf, startTestGateway, type TestGateway, type TestKey } from "./gateway-fixtures.ts";

const PROVIDER_SECRET = "sk-provider-secret";

let mock: MockProvider;
let gw: TestGateway;
let key: TestKey;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  mock = await startMockProvider({ requireCredential: PROVIDER_SECRET });
  const owner = principal({
    "chat-fast": [routeTo(mock.url, { upstreamModel: "gpt-mock" })],
    "embed-small": [routeTo(mock.url, { upstreamModel: "embed-mock" })],
    // "stable": the mock answers with fixed ids and timestamps, so bytes can be compared with a direct call.
    "chat-stable": [routeTo(mock.url, { upstreamModel: "gpt-mock-stable" })],
    claude: [routeTo(mock.url, { providerKind: "anthropic", upstreamModel: "claude-mock" })],
  });
  key = keyFor(owner);
  gw = await startTestGateway(snapshotOf([key], ["chat-fast", "embed-small", "claude", "chat-stable"]));
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.secret, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: key.secret, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  gw.usage.length = 0;
  gw.admission.settled.length = 0;
});

const hello = [{ role: "user" as const, content: "Hello there, gateway!" }];

describe("OpenAI chat completions", () => {
  it("streams the very bytes the provider sends without the gateway's usage request, to a client that did not ask for usage", async () => {
    const body = (model: string) => JSON.stringify({ model, stream: true, messages: hello });
    const direct = await fetch(`${mock.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${PROVIDER_SECRET}`, "content-type": "application/json" },
      body: body("gpt-mock-stable"),
    });
    const viaGateway = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: body("chat-stable"),
    });
    const [expected, relayed] = [await direct.text(), await viaGateway.text()];
    expect(expected).not.toContain('"usage"');
    expect(relayed).toBe(expected);
    // The gateway did ask upstream, and so still knows what to charge.
    expect(mock.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const records = await gw.usageRecords(1);
    expect(records[0]).toMatchObject({ modelSlug: "chat-stable", outputTokens: 8, status: 200 });
  });

  it("answers a non-streamed completion and records its usage and cost", async () => {
    const completion = await openai.chat.completions.create({ model: "chat-fast", messages: hello });
    expect(completion.choices[0]!.message.content).toBe(mockCompletionText(8));
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 8 });

    const [record] = await gw.usageRecords(1);
    expect(record).toMatchObject({ modelSlug: "chat-fast", inputTokens: 6, outputTokens: 8, cachedTokens: 0, status: 200, apiKeyId: key.entry.keyId });
    // 6 input × $1/M + 8 output × $2/M = 22 micro-dollars.
    expect(record!.costMicros).toBe(22n);
    expect(record!.ttfbMs).not.toBeNull();
    expect(gw.admission.settled).toHaveLength(1);
    expect(gw.admission.settled[0]!.actual).toEqual({ tokens: 14, micros: 22n });
  });

  it("sends the route's upstream model and the provider's credential, never the client's key", async () => {
    await openai.chat.completions.create({ model: "chat-fast", messages: hello });
    const [upstream] = mock.requests;
    expect(upstream!.body.model).toBe("gpt-mock");
    expect(upstream!.credential).toBe(PROVIDER_SECRET);
    expect(JSON.stringify(upstream!.headers)).not.toContain(key.secret);
  });

  it("streams a completion without showing the usage chunk the gateway asked for, yet charges it", async () => {
    const stream = await openai.chat.completions.create({ model: "chat-fast", messages: hello, stream: true });
    let text = "";
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(mockCompletionText(8));
    expect(chunks.every((chunk) => chunk.usage == null && chunk.choices.length === 1)).toBe(true);
    expect(mock.requests[0]!.body.stream_options).toEqual({ include_usage: true });
    const [record] = await gw.usageRecords(1);
    expect(record).toMatchObject({ inputTokens: 6, outputTokens: 8, status: 200 });
  });

  it("shows the usage chunk to a client that asked for it", async () => {
    const stream = await openai.chat.completions.create({
      model: "chat-fast",
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 8 });
    expect((await gw.usageRecords(1))[0]).toMatchObject({ inputTokens: 6, outputTokens: 8 });
  });

  it("relays the response with the gateway's request id and the rate-limit headers of admission", async () => {
    const { response } = await openai.chat.completions.create({ model: "chat-fast", messages: hello }).withResponse();
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await gw.usageRecords(1))[0]!.requestId).toBe(response.headers.get("x-request-id"));
  });
});

describe("request bodies and concurrency", () => {
  it("reads a large body that arrives in many chunks intact", async () => {
    const content = "abcdefghij".repeat(50_000);
    const completion = await openai.chat.completions.create({ model: "chat-fast", messages: [{ role: "user", content }] });
    expect(completion.usage!.prompt_tokens).toBe(125_000);
    expect(mock.requests[0]!.body.messages[0].content).toBe(content);
  });

  it("serves many concurrent streams and settles each exactly once", async () => {
    const texts = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const stream = await openai.chat.completions.create({ model: "chat-fast", messages: hello, stream: true });
        let text = "";
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
        return text;
      }),
    );
    expect(new Set(texts)).toEqual(new Set([mockCompletionText(8)]));
    await gw.usageRecords(50);
    expect(gw.admission.settled).toHaveLength(50);
    expect(new Set(gw.admission.settled.map((s) => s.ticket.id)).size).toBe(50);
  });
});

describe("OpenAI embeddings", () => {
  it("answers embeddings and records the input tokens", async () => {
    const result = await openai.embeddings.create({ model: "embed-small", input: "some text to embed" });
    expect(result.data[0]!.embedding).toHaveLength(8);
    expect((await gw.usageRecords(1))[0]).toMatchObject({ modelSlug: "embed-small", inputTokens: 5, outputTokens: 0, status: 200 });
  });
});

describe("Anthropic messages", () => {
  it("answers a non-streamed message and records its usage", async () => {
    const message = await anthropic.messages.create({ model: "claude", max_tokens: 100, messages: hello });
    expect(message.content[0]).toMatchObject({ type: "text", text: mockCompletionText(8) });
    expect((await gw.usageRecords(1))[0]).toMatchObject({ modelSlug: "claude", inputTokens: 6, outputTokens: 8, status: 200 });
    expect(mock.requests[0]!.body.model).toBe("claude-mock");
    expect(mock.requests[0]!.credential).toBe(PROVIDER_SECRET);
  });

  it("passes anthropic-version and anthropic-beta through to the provider", async () => {
    await anthropic.messages.create(
      { model: "claude", max_tokens: 10, messages: hello },
      { headers: { "anthropic-version": "2023-06-01", "anthropic-beta": "prompt-caching-2024-07-31" } },
    );
    expect(mock.requests[0]!.headers["anthropic-version"]).toBe("2023-06-01");
    expect(mock.requests[0]!.headers["anthropic-beta"]).toBe("prompt-caching-2024-07-31");
  });

  it("streams a message and charges the usage from message_start and message_delta", async () => {
    const stream = anthropic.messages.stream({ model: "claude", max_tokens: 100, messages: hello });
    let text = "";
    stream.on("text", (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe(mockCompletionText(8));
    expect(final.usage.output_tokens).toBe(8);
    expect((await gw.usageRecords(1))[0]).toMatchObject({ inputTokens: 6, outputTokens: 8, status: 200 });
  });

  it("counts tokens through /v1/messages/count_tokens", async () => {
    const counted = await anthropic.messages.countTokens({ model: "claude", messages: hello });
    expect(counted.input_tokens).toBe(6);
    expect((await gw.usageRecords(1))[0]).toMatchObject({ status: 200, costMicros: 0n });
  });

  it("lists models in Anthropic's format for the Anthropic SDK", async () => {
    const page = await anthropic.models.list();
    expect(page.data.map((m) => m.id)).toEqual(["chat-fast", "chat-stable", "claude", "embed-small"]);
  });
});

describe("GET /v1/models with the OpenAI SDK", () => {
  it("lists the key's models", async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(["chat-fast", "chat-stable", "claude", "embed-small"]);
  });
});
