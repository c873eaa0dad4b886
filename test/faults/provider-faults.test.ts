// Providers misbehaving, end to end: routes set up through GraphQL, real data planes (Redis admission, usage written
// to Postgres), the official SDKs as clients. Fills what test/data-plane/gateway-upstream.test.ts (hand-built
// snapshots) leaves open: fallback through the whole product, providers that hang before or during their answer
// (UPSTREAM_FIRST_BYTE_TIMEOUT_MS, which also bounds silences mid-body, and UPSTREAM_REQUEST_TIMEOUT_MS), the
// provider's own error event, and a slow reader pausing the provider, each with its usage record.
import { request as httpRequest } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageRecord } from "../../control-plane/db/generated/prisma/client.ts";
import { costMicros } from "../../shared/money.ts";
import { mockChunksIn, mockCompletionText, mockInputTokens } from "../support/mock-provider.ts";
import { startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";
import { grant, type Member, member, modelWithRoutes } from "./policy.ts";
import { expectAlive, metric, sleep, until, watchUnhandled } from "./probes.ts";

const FIRST_BYTE_TIMEOUT_MS = 800;
const REQUEST_TIMEOUT_MS = 2_000;
/** Instance 0 has the short timeouts above; instance 1 the defaults (a slow reader must not be cut). */
const SHORT = 0;
const PATIENT = 1;
// ~30 MB of SSE: far more than the socket buffers between client, gateway and mock can hold.
const BIG_CHUNKS = 200_000;

let stack: TestStack;
let caller: Member;
const unhandled = watchUnhandled();

beforeAll(async () => {
  stack = await startTestStack({
    instances: 2,
    instanceEnv: [{ UPSTREAM_FIRST_BYTE_TIMEOUT_MS: String(FIRST_BYTE_TIMEOUT_MS), UPSTREAM_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }, {}],
  });
  caller = await member(stack, null);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  unhandled.stop();
});

/** A model routed to these upstream models in order, granted to the caller and known to every instance. */
async function routed(kind: "openai" | "anthropic", upstreams: string[]) {
  const model = await modelWithRoutes(stack, kind, upstreams);
  await grant(stack, model.modelId, caller.userId);
  await waitForPolicy(stack);
  return model;
}

const openai = (instance = SHORT) => new OpenAI({ baseURL: `${stack.gateways[instance]}/v1`, apiKey: caller.secret, maxRetries: 0, timeout: 30_000 });
const anthropic = (instance = SHORT) => new Anthropic({ baseURL: stack.gateways[instance], apiKey: caller.secret, maxRetries: 0, timeout: 30_000 });
const hello = [{ role: "user" as const, content: "Hello there, provider!" }];

/** The one usage record of the model `slug` (each test has its own model). */
async function recordOf(slug: string): Promise<UsageRecord> {
  await until(async () => (await stack.cp.prisma.usageRecord.count({ where: { modelSlug: slug } })) > 0, `a usage record for ${slug}`);
  const records = await stack.cp.prisma.usageRecord.findMany({ where: { modelSlug: slug } });
  expect(records).toHaveLength(1);
  return records[0]!;
}

/** What the mock received for this upstream model (each test routes to upstream names of its own). */
const upstream = (name: string) => stack.mock.requests.filter((r) => r.body?.model === name);

/** $1/M input, $2/M output. */
const priced = (input: number, output: number) => costMicros({ inputTokens: input, outputTokens: output }, { inputPerMTok: 1_000_000n, outputPerMTok: 2_000_000n, cachedInputPerMTok: 0n });

describe("a provider failing before its first byte", () => {
  it("answers 503: the next route serves the OpenAI SDK, and the record names that route", async () => {
    const { slug, providerModelIds } = await routed("openai", ["mock-status-503", "gpt-mock"]);
    const completion = await openai().chat.completions.create({ model: slug, messages: hello });
    expect(completion.choices[0]!.message.content).toBe(mockCompletionText(8));
    expect(await recordOf(slug)).toMatchObject({ status: 200, providerModelId: providerModelIds[1], outputTokens: 8 });
  });

  it("answers 429: the next route serves the Anthropic SDK's stream", async () => {
    const { slug, providerModelIds } = await routed("anthropic", ["mock-status-429-retry-1", "mock-chunks-6"]);
    const message = await anthropic().messages.stream({ model: slug, max_tokens: 50, messages: hello }).finalMessage();
    expect(message.content).toEqual([{ type: "text", text: mockCompletionText(6) }]);
    expect(await recordOf(slug)).toMatchObject({ status: 200, providerModelId: providerModelIds[1], outputTokens: 6 });
  });

  it("hangs: after UPSTREAM_FIRST_BYTE_TIMEOUT_MS the gateway hangs up on it and the next route answers", async () => {
    const { slug, providerModelIds } = await routed("openai", ["mock-hang-one", "mock-chunks-5"]);
    const stream = await openai().chat.completions.create({ model: slug, messages: hello, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(mockCompletionText(5));
    const [hung] = upstream("mock-hang-one");
    await hung!.closed;
    expect(hung).toMatchObject({ status: 0, clientAborted: true });
    expect(await recordOf(slug)).toMatchObject({ status: 200, providerModelId: providerModelIds[1], outputTokens: 5 });
  });

  it("hangs with no other route: a clean 503 no_available_route after the timeout, recorded at no cost", async () => {
    const { slug } = await routed("openai", ["mock-hang-two"]);
    const error = (await openai()
      .chat.completions.create({ model: slug, messages: hello })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(503);
    // The SDK exposes the gateway's error code as `error`.
    expect(error.error).toBe("no_available_route");
    expect(await recordOf(slug)).toMatchObject({ status: 503, inputTokens: 0, outputTokens: 0, costMicros: 0n });
  });
});

describe("a provider failing after its first byte", () => {
  it("stalls mid-stream (OpenAI): the silence is cut at the timeout with an error event the SDK raises, charged for what was relayed", async () => {
    const { slug } = await routed("openai", ["mock-chunks-20-stall-3"]);
    const stream = await openai().chat.completions.create({ model: slug, messages: hello, stream: true });
    let text = "";
    await expect(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    }).rejects.toThrow(/stream failed/);
    expect(text).toBe(mockCompletionText(3));
    const input = mockInputTokens({ messages: hello });
    expect(await recordOf(slug)).toMatchObject({ status: 502, inputTokens: input, outputTokens: 3, costMicros: priced(input, 3) });
  });

  it("stalls mid-stream (Anthropic): the SDK raises the error event; the input message_start reported is charged", async () => {
    const { slug } = await routed("anthropic", ["mock-chunks-20-stall-4"]);
    const stream = anthropic().messages.stream({ model: slug, max_tokens: 50, messages: hello });
    await expect(stream.finalMessage()).rejects.toThrow(/stream failed/);
    const input = mockInputTokens({ messages: hello });
    expect(await recordOf(slug)).toMatchObject({ status: 502, inputTokens: input, outputTokens: 4, costMicros: priced(input, 4) });
  });

  it("stalls before the body of a JSON answer: a 502 the SDK raises, nothing charged beyond the input", async () => {
    const { slug } = await routed("openai", ["mock-chunks-4-stall-0"]);
    const error = (await openai()
      .chat.completions.create({ model: slug, messages: hello })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.error).toBe("upstream_error");
    const input = mockInputTokens({ messages: hello });
    expect(await recordOf(slug)).toMatchObject({ status: 502, inputTokens: input, outputTokens: 0 });
  });

  it("streams past UPSTREAM_REQUEST_TIMEOUT_MS: cut with an error event, charged for the part relayed", async () => {
    const { slug } = await routed("openai", ["mock-chunks-1000-delay-20"]);
    const raw = await (
      await fetch(`${stack.gateways[SHORT]}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${caller.secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: slug, messages: hello, stream: true }),
      })
    ).text();
    expect(raw).toMatch(/\n\ndata: \{"error":\{"message":"[^"]+","type":"upstream_error","code":"upstream_error"\}\}\n\n$/);
    const relayed = mockChunksIn(raw);
    expect(relayed).toBeGreaterThan(0);
    expect(relayed).toBeLessThan(1000);
    expect(await recordOf(slug)).toMatchObject({ status: 502, outputTokens: relayed });
  });

  it("sends its own error event inside a 200 stream (OpenAI): relayed as is, the SDK raises it, recorded 502, charged for what was relayed", async () => {
    const { slug } = await routed("openai", ["mock-chunks-10-failevent-2"]);
    const stream = await openai().chat.completions.create({ model: slug, messages: hello, stream: true });
    await expect(async () => {
      for await (const _chunk of stream) {
        // drain
      }
    }).rejects.toThrow();
    // The stream ended cleanly after the provider's error, so no final usage came: charged as a cut stream is.
    const input = mockInputTokens({ messages: hello });
    expect(await recordOf(slug)).toMatchObject({ status: 502, inputTokens: input, outputTokens: 2, costMicros: priced(input, 2) });
  });

  it("sends its own error event inside a 200 stream (Anthropic): the SDK raises it, recorded 502, input and deltas charged", async () => {
    const { slug } = await routed("anthropic", ["mock-chunks-10-failevent-3"]);
    const stream = anthropic().messages.stream({ model: slug, max_tokens: 100, messages: hello });
    await expect(stream.finalMessage()).rejects.toThrow(/Overloaded/);
    const input = mockInputTokens({ messages: hello });
    expect(await recordOf(slug)).toMatchObject({ status: 502, inputTokens: input, outputTokens: 3, costMicros: priced(input, 3) });
  });
});

describe("a client reading slowly", () => {
  it("pauses the provider: the mock waits for drain, what it sent stops growing, and the stream arrives intact", async () => {
    const { slug } = await routed("openai", [`mock-chunks-${BIG_CHUNKS}`]);
    const samples: number[] = [];
    let receivedWhilePaused = 0;
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${stack.gateways[PATIENT]}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${caller.secret}`, "content-type": "application/json" },
      });
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.once("data", async (first: Buffer) => {
          parts.push(first);
          res.pause();
          receivedWhilePaused = first.length;
          // Not reading: once every buffer on the way is full, the mock must be waiting, not sending.
          const rec = () => upstream(`mock-chunks-${BIG_CHUNKS}`)[0]!;
          for (let i = 0; i < 50; i++) {
            await sleep(200);
            samples.push(rec().contentChunksSent);
            if (samples.length >= 3 && samples.at(-1) === samples.at(-3) && rec().drainWaits > 0) break;
          }
          res.on("data", (part: Buffer) => parts.push(part));
          res.resume();
        });
        res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(JSON.stringify({ model: slug, messages: hello, stream: true }));
    });
    const rec = upstream(`mock-chunks-${BIG_CHUNKS}`)[0]!;
    expect(rec.drainWaits).toBeGreaterThan(0);
    expect(samples.at(-1)).toBe(samples.at(-3));
    expect(samples.at(-1)!).toBeLessThan(BIG_CHUNKS / 2);
    const pieceBytes = Buffer.byteLength(received) / BIG_CHUNKS;
    console.log(
      `provider-faults: slow reader: the mock stopped at ${samples.at(-1)} of ${BIG_CHUNKS} chunks (~${((samples.at(-1)! * pieceBytes - receivedWhilePaused) / 1e6).toFixed(1)} MB in buffers between mock and client), ${rec.drainWaits} drain waits`,
    );
    expect(mockChunksIn(received)).toBe(BIG_CHUNKS);
    expect(received.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(await recordOf(slug)).toMatchObject({ status: 200, outputTokens: BIG_CHUNKS });
  }, 60_000);
});

describe("after all that", () => {
  it("no stream is left open and both instances still answer", async () => {
    for (const gateway of stack.gateways) expect(await metric(gateway, "tollgate_open_streams")).toBe(0);
    await expectAlive(stack.gateways);
    expect(unhandled.errors).toEqual([]);
  });
});
