// Leaving early is not free: a stream cut before the provider reported usage (client gone, provider failed) is charged
// an estimate of what was used, and a budget cannot be bypassed by disconnecting.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RouteTarget, UsageScanner } from "../../data-plane/contracts.ts";
import { type CallRecord, chargedUsage } from "../../data-plane/server/finish-call.ts";
import { estimateInputTokens, estimateUsage } from "../../data-plane/server/estimate-usage.ts";
import { costMicros } from "../../shared/money.ts";
import { mockChunksIn, mockInputTokens, startMockProvider, type MockProvider } from "../support/mock-provider.ts";
import { keyFor, principal, routeTo, snapshotOf, startTestGateway, type TestGateway, type TestKey } from "./gateway-fixtures.ts";

// 200 chunks, 5 ms apart: a second of streaming, plenty of time to leave in the middle.
const SLOW = "mock-chunks-200-delay-5";
/** Chunks the gateway may have relayed that the client had not read yet when it left. */
const IN_FLIGHT_MARGIN = 20;

let mock: MockProvider;
let gw: TestGateway;
let key: TestKey;
let budgetKey: TestKey;
let budgetRoute: RouteTarget;

const openaiRoute = (upstreamModel: string) => routeTo(mock.url, { upstreamModel });
const anthropicRoute = (upstreamModel: string) => routeTo(mock.url, { providerKind: "anthropic", upstreamModel });

beforeAll(async () => {
  mock = await startMockProvider();
  const routes = {
    "gpt-slow": [openaiRoute(SLOW)],
    "gpt-complete": [openaiRoute("mock-chunks-20")],
    "gpt-cut": [openaiRoute("mock-fail-5")],
    "gpt-hang": [openaiRoute("mock-hang")],
    // 3 of the input tokens come from the prompt cache, so the cached price must survive the cut too.
    "claude-slow": [anthropicRoute(`${SLOW}-cached-3`)],
    "claude-complete": [anthropicRoute("mock-chunks-20")],
  };
  key = keyFor(principal(routes));
  budgetRoute = openaiRoute(SLOW);
  budgetKey = keyFor(principal({ "gpt-budget": [budgetRoute] }, { budgets: [{ period: "TOTAL", capMicros: 0n }] }));
  gw = await startTestGateway(snapshotOf([key, budgetKey], [...Object.keys(routes), "gpt-budget"]));
});
afterAll(async () => {
  await gw?.close();
  await mock?.close();
});
beforeEach(() => {
  mock.reset();
  gw.usage.length = 0;
  gw.admission.settled.length = 0;
});

const hello = [{ role: "user" as const, content: "Hello there, gateway! Please write a long answer." }];

function post(path: string, body: Record<string, unknown>, secret = key.secret, signal?: AbortSignal): Promise<Response> {
  const anthropic = path === "/v1/messages";
  return fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: anthropic
      ? { "x-api-key": secret, "anthropic-version": "2023-06-01", "content-type": "application/json" }
      : { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** Reads a streamed answer until at least `chunks` content pieces arrived, then hangs up; returns how many arrived. */
async function readThenLeave(response: Response, chunks: number): Promise<number> {
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (mockChunksIn(text) < chunks) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before the client meant to leave");
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return mockChunksIn(text);
}

async function settledOnce() {
  await gw.usageRecords(1);
  expect(gw.admission.settled).toHaveLength(1);
  expect(gw.usage).toHaveLength(1);
  const record = gw.usage[0]!;
  expect(gw.admission.settled[0]!.actual).toEqual({ tokens: record.inputTokens + record.outputTokens, micros: record.costMicros });
  return record;
}

/** $1/M input, $0.50/M cached, $2/M output: the fixtures' prices. */
function priced(input: number, output: number, cached = 0): bigint {
  return costMicros({ inputTokens: input, outputTokens: output, cachedInputTokens: cached }, routeTo("http://x").prices);
}

describe("a client that leaves mid-stream", () => {
  it("OpenAI: is charged the gateway's input estimate and one output token per delta relayed", async () => {
    const body = { model: "gpt-slow", messages: hello, stream: true };
    const received = await readThenLeave(await post("/v1/chat/completions", body), 30);
    const upstream = mock.requests[0]!;
    await upstream.closed;
    expect(upstream.clientAborted).toBe(true);
    expect(upstream.contentChunksSent).toBeLessThan(200);

    const record = await settledOnce();
    expect(record.status).toBe(499);
    // OpenAI reports nothing before its last chunk: the input is the gateway's estimate, on the mock's own rule.
    expect(record.inputTokens).toBe(mockInputTokens(upstream.body));
    expect(record.outputTokens).toBeGreaterThanOrEqual(received);
    expect(record.outputTokens).toBeLessThanOrEqual(Math.min(upstream.contentChunksSent, received + IN_FLIGHT_MARGIN));
    expect(record.cachedTokens).toBe(0);
    expect(record.costMicros).toBe(priced(record.inputTokens, record.outputTokens));
    expect(record.costMicros).toBeGreaterThan(0n);
  });

  it("Anthropic: is charged the input message_start reported (cache reads included) and the deltas relayed", async () => {
    // The mock does not count tools, the gateway's estimate would: an input equal to the mock's proves it was reported.
    const tools = [{ name: "lookup", description: "Looks things up in a rather large index.", input_schema: { type: "object", properties: { q: { type: "string" } } } }];
    const body = { model: "claude-slow", max_tokens: 1000, messages: hello, tools, stream: true };
    const received = await readThenLeave(await post("/v1/messages", body), 30);
    const upstream = mock.requests[0]!;
    await upstream.closed;
    expect(upstream.clientAborted).toBe(true);

    const record = await settledOnce();
    expect(record.status).toBe(499);
    expect(record.inputTokens).toBe(mockInputTokens(upstream.body));
    expect(estimateInputTokens("messages", body)).toBeGreaterThan(record.inputTokens);
    expect(record.cachedTokens).toBe(3);
    expect(record.outputTokens).toBeGreaterThanOrEqual(received);
    expect(record.outputTokens).toBeLessThanOrEqual(Math.min(upstream.contentChunksSent, received + IN_FLIGHT_MARGIN));
    expect(record.costMicros).toBe(priced(record.inputTokens, record.outputTokens, 3));
    expect(record.costMicros).toBeGreaterThan(0n);
  });

  it("cannot bypass a budget: the charge counts against it and the next request is refused", async () => {
    const body = { model: "gpt-budget", messages: hello, stream: true, max_tokens: 100 };
    const reserve = estimateUsage("chat", Buffer.byteLength(JSON.stringify(body)), body, budgetRoute, 4096).micros;
    // Room for one reservation and 10 micro-dollars more: anything charged beyond that blocks the next request.
    budgetKey.entry.principal.bucket.budgets[0]!.capMicros = reserve + 10n;

    await readThenLeave(await post("/v1/chat/completions", body, budgetKey.secret), 10);
    const record = await settledOnce();
    expect(record.costMicros).toBeGreaterThan(10n);

    const refused = await post("/v1/chat/completions", body, budgetKey.secret);
    expect(refused.status).toBe(402);
    expect((await refused.json()).error).toBe("budget_exceeded");
    expect(mock.requests).toHaveLength(1);
  });
});

describe("other early ends", () => {
  it("a provider failing mid-stream: the gateway's input estimate and the deltas relayed", async () => {
    const text = await (await post("/v1/chat/completions", { model: "gpt-cut", messages: hello, stream: true })).text();
    expect(mockChunksIn(text)).toBe(5);
    const record = await settledOnce();
    expect(record).toMatchObject({ status: 502, inputTokens: mockInputTokens(mock.requests[0]!.body), outputTokens: 5 });
    expect(record.costMicros).toBe(priced(record.inputTokens, 5));
  });

  it("a client gone before the provider answered: the input estimate, since the provider had the prompt", async () => {
    const controller = new AbortController();
    const pending = post("/v1/chat/completions", { model: "gpt-hang", messages: hello }, key.secret, controller.signal).catch(() => null);
    while (mock.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await pending;
    await mock.requests[0]!.closed;
    const record = await settledOnce();
    expect(record).toMatchObject({ status: 499, inputTokens: mockInputTokens(mock.requests[0]!.body), outputTokens: 0 });
    expect(record.costMicros).toBe(priced(record.inputTokens, 0));
  });

  it("nothing when no request was with the provider, or when its answer was an error", () => {
    const call = { awaitingAnswer: false, inputEstimate: () => 42 } as CallRecord;
    expect(chargedUsage(call, null)).toEqual({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
    call.awaitingAnswer = true;
    expect(chargedUsage(call, null)).toEqual({ inputTokens: 42, outputTokens: 0, cachedTokens: 0 });
    const reported: UsageScanner = {
      push: (chunk) => chunk,
      flush: () => Buffer.alloc(0),
      usage: () => ({ inputTokens: 7, outputTokens: 3, cachedTokens: 2 }),
      complete: () => true,
      producedEvents: () => 99,
      providerFailed: () => false,
    };
    expect(chargedUsage(call, reported)).toEqual({ inputTokens: 7, outputTokens: 3, cachedTokens: 2 });
  });
});

describe("a complete stream", () => {
  it("OpenAI: records exactly the usage the provider reported", async () => {
    const body = { model: "gpt-complete", messages: hello, stream: true };
    expect(mockChunksIn(await (await post("/v1/chat/completions", body)).text())).toBe(20);
    const record = await settledOnce();
    expect(record).toMatchObject({ status: 200, inputTokens: mockInputTokens(mock.requests[0]!.body), outputTokens: 20, cachedTokens: 0 });
    expect(record.costMicros).toBe(priced(record.inputTokens, 20));
  });

  it("Anthropic: records exactly the usage the provider reported", async () => {
    const body = { model: "claude-complete", max_tokens: 1000, messages: hello, stream: true };
    expect(mockChunksIn(await (await post("/v1/messages", body)).text())).toBe(20);
    const record = await settledOnce();
    expect(record).toMatchObject({ status: 200, inputTokens: mockInputTokens(mock.requests[0]!.body), outputTokens: 20, cachedTokens: 0 });
    expect(record.costMicros).toBe(priced(record.inputTokens, 20));
  });
});
