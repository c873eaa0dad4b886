// When providers misbehave: fallback before the first byte, pass-through of their errors, failures mid-stream,
// clients that leave, and clients that read slowly.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RouteTarget } from "../../data-plane/contracts.ts";
import { mockChunksIn, mockCompletionText, startMockProvider, type MockProvider } from "../support/mock-provider.ts";
import { keyFor, principal, routeTo, snapshotOf, startTestGateway, type TestGateway, type TestKey } from "./gateway-fixtures.ts";

const UNREACHABLE = "http://127.0.0.1:9";
// ~30 MB of SSE: far more than the socket buffers between the three processes' sockets can hold.
const BIG_CHUNKS = 200_000;

let mock: MockProvider;
let dribbler: Server;
let gw: TestGateway;
let key: TestKey;
let openai: OpenAI;
let anthropic: Anthropic;
const routes: Record<string, RouteTarget[]> = {};

function openaiRoute(upstreamModel: string, priority = 0, baseUrl?: string): RouteTarget {
  return routeTo(baseUrl ?? mock.url, { upstreamModel, priority });
}

beforeAll(async () => {
  mock = await startMockProvider();
  dribbler = await startDribbler();
  const dribblerUrl = `http://127.0.0.1:${(dribbler.address() as AddressInfo).port}`;
  Object.assign(routes, {
    plain: [openaiRoute("gpt-mock", 0)],
    dribbled: [openaiRoute("whole", 0, dribblerUrl)],
    "dribbled-cut": [openaiRoute("cut", 0, dribblerUrl)],
    "dribbled-gated": [openaiRoute("gated", 0, dribblerUrl)],
    "first-fails": [openaiRoute("mock-status-500", 0), openaiRoute("gpt-mock", 1)],
    "first-unreachable": [openaiRoute("gpt-mock", 0, UNREACHABLE), openaiRoute("gpt-mock", 1)],
    "first-throttled": [openaiRoute("mock-status-429-retry-7", 0), openaiRoute("gpt-mock", 1)],
    "bad-request": [openaiRoute("mock-status-400", 0), openaiRoute("gpt-mock", 1)],
    "all-fail": [openaiRoute("mock-status-500", 0), openaiRoute("mock-status-503", 1)],
    "fail-then-unreachable": [openaiRoute("mock-status-500", 0), openaiRoute("gpt-mock", 1, UNREACHABLE)],
    "all-unreachable": [openaiRoute("a", 0, UNREACHABLE), openaiRoute("b", 1, UNREACHABLE)],
    "only-throttled": [openaiRoute("mock-status-429-retry-7", 0)],
    slow: [openaiRoute("mock-chunks-400-delay-10", 0)],
    hang: [openaiRoute("mock-hang", 0)],
    "cut-after-3": [openaiRoute("mock-fail-3", 0)],
    big: [openaiRoute(`mock-chunks-${BIG_CHUNKS}`, 0)],
    "claude-cut-after-3": [routeTo(mock.url, { providerKind: "anthropic", upstreamModel: "mock-fail-3" })],
  });
  key = keyFor(principal(routes));
  gw = await startTestGateway(snapshotOf([key], Object.keys(routes)));
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key.secret, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: key.secret, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await mock.close();
  await new Promise((resolve) => dribbler.close(resolve));
});
beforeEach(() => {
  mock.reset();
  forgetRecords();
});

/** Forgets the usage records and settles seen so far, so that settledOnce() sees the next request's alone. */
function forgetRecords(): void {
  gw.usage.length = 0;
  gw.admission.settled.length = 0;
}

const hello = [{ role: "user" as const, content: "Hello there, gateway!" }];

function chat(model: string, extra: Record<string, unknown> = {}) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: hello, ...extra }),
  });
}

/**
 * A chat completion through node:http, which tells a clean end from a cut connection (fetch hides the difference) and
 * shows the body as the pieces it arrived in; `onPiece` sees each as it comes.
 */
function rawChat(
  model: string,
  options: { stream?: boolean; onPiece?: (index: number) => void } = {},
): Promise<{ res: IncomingMessage; body: string; pieces: string[]; error: Error | null }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
    });
    req.on("response", (res) => {
      const pieces: string[] = [];
      const done = (error: Error | null) => resolve({ res, body: pieces.join(""), pieces, error });
      res.on("data", (part: Buffer) => {
        pieces.push(part.toString("utf8"));
        options.onPiece?.(pieces.length - 1);
      });
      res.on("end", () => done(null));
      res.on("error", done);
    });
    req.on("error", reject);
    req.end(JSON.stringify({ model, messages: hello, ...(options.stream ? { stream: true } : {}) }));
  });
}

const DRIBBLED = JSON.stringify({
  id: "chatcmpl-dribbled",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "whole",
  choices: [{ index: 0, message: { role: "assistant", content: "seven tokens of a slowly written answer" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
});

const GATED_FIRST = 'data: {"choices":[{"index":0,"delta":{"content":"first"}}]}\n\n';
const GATED_REST = "data: [DONE]\n\n";
/** Opens the "gated" provider's second piece. */
let openGate: () => void = () => {};

/**
 * A provider that writes its JSON answer in four pieces 30 ms apart (so the gateway gets them as separate chunks);
 * for the model "cut" it closes the connection instead of sending the last piece. For "gated" it streams an SSE event
 * under a wrong content type (text/plain) and sends the rest only once the test calls openGate().
 */
async function startDribbler(): Promise<Server> {
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const model = JSON.parse(Buffer.concat(parts).toString("utf8")).model;
      if (model === "gated") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(GATED_FIRST);
        openGate = () => res.end(GATED_REST);
        return;
      }
      const cut = model === "cut";
      res.writeHead(200, { "content-type": "application/json" });
      const step = Math.ceil(DRIBBLED.length / 4);
      let at = 0;
      const next = () => {
        if (cut && at + step >= DRIBBLED.length) return void res.destroy();
        res.write(DRIBBLED.slice(at, at + step));
        at += step;
        if (at >= DRIBBLED.length) res.end();
        else setTimeout(next, 30);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function settledOnce() {
  await gw.usageRecords(1);
  expect(gw.admission.settled).toHaveLength(1);
  expect(gw.usage).toHaveLength(1);
  return gw.usage[0]!;
}

async function openStreams(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^tollgate_open_streams (\d+)/m.exec(text)?.[1]);
}

async function admissionWaits(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^tollgate_admission_wait_seconds_count (\d+)/m.exec(text)?.[1]);
}

describe("admission metrics", () => {
  it("observes each request's wait for its admission decision once", async () => {
    const before = await admissionWaits();
    await openai.chat.completions.create({ model: "first-fails", messages: hello });
    await settledOnce();
    expect(await admissionWaits()).toBe(before + 1);
  });
});

describe("the upstream body", () => {
  it("is the client's bytes with the model's value replaced, for every route tried", async () => {
    // Spacing, key order and a number JSON.stringify would round all reach the provider as the client wrote them.
    const text = (model: string) => `{ "messages": [{"role":"user","content":"say \\"model\\": 1"}],\n  "model" : "${model}", "seed": 12345678901234567890 }`;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: text("first-fails"),
    });
    expect(res.status).toBe(200);
    expect(mock.requests.map((r) => r.bodyText)).toEqual([text("mock-status-500"), text("gpt-mock")]);
  });

  it("asks an OpenAI stream for its usage by adding stream_options, the rest as sent", async () => {
    const sent = '{"model":"plain","stream":true,"messages":[{"role":"user","content":"hi"}]}';
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: sent,
    });
    expect(await res.text()).not.toContain('"usage"');
    expect(mock.requests[0]!.bodyText).toBe('{"stream_options":{"include_usage":true},"model":"gpt-mock","stream":true,"messages":[{"role":"user","content":"hi"}]}');
  });
});

describe("fallback before the first byte", () => {
  it("falls back to the second route when the first answers 500", async () => {
    const completion = await openai.chat.completions.create({ model: "first-fails", messages: hello });
    expect(completion.choices[0]!.message.content).toBe(mockCompletionText(8));
    expect(mock.requests.map((r) => [r.body.model, r.status])).toEqual([
      ["mock-status-500", 500],
      ["gpt-mock", 200],
    ]);
    const record = await settledOnce();
    expect(record).toMatchObject({ status: 200, providerModelId: routes["first-fails"]![1]!.providerModelId, outputTokens: 8 });
  });

  it("falls back when the first provider cannot be reached", async () => {
    const completion = await openai.chat.completions.create({ model: "first-unreachable", messages: hello });
    expect(completion.choices[0]!.message.content).toBe(mockCompletionText(8));
    expect((await settledOnce()).status).toBe(200);
  });

  it("falls back when the first provider answers 429", async () => {
    await openai.chat.completions.create({ model: "first-throttled", messages: hello });
    expect(mock.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("passes a 400 from the provider through without trying another route", async () => {
    const response = await chat("bad-request");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: { message: "Invalid request.", type: "invalid_request_error", param: null, code: null } });
    expect(mock.requests).toHaveLength(1);
    expect((await settledOnce()).status).toBe(400);
  });

  it("passes the last provider's error through when every route fails", async () => {
    const response = await chat("all-fail");
    expect(response.status).toBe(503);
    expect((await response.json()).error.code).toBe("service_unavailable");
    expect(mock.requests).toHaveLength(2);
    expect((await settledOnce()).status).toBe(503);
  });

  it("passes the last answer through when the last route is unreachable", async () => {
    const response = await chat("fail-then-unreachable");
    expect(response.status).toBe(500);
    expect((await response.json()).error.type).toBe("server_error");
  });

  it("passes a provider's 429 and its Retry-After through when no other route exists", async () => {
    const response = await chat("only-throttled");
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("7");
    expect((await response.json()).error.code).toBe("rate_limit_exceeded");
    // The provider's own request id travels under another name; the gateway's is the only x-request-id.
    expect(response.headers.get("x-upstream-request-id")).toMatch(/^req_mock\d+$/);
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers 503 no_available_route when no provider answers, and still settles", async () => {
    const response = await chat("all-unreachable");
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: "no_available_route", message: "No route to this model is available" });
    expect(await settledOnce()).toMatchObject({ status: 503, costMicros: 0n, inputTokens: 0 });
  });
});

describe("clients that leave", () => {
  it("aborts the upstream stream when the client disconnects mid-stream, and still settles and records", async () => {
    const response = await chat("slow", { stream: true });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    const upstream = mock.requests[0]!;
    await upstream.closed;
    expect(upstream.clientAborted).toBe(true);
    expect(upstream.contentChunksSent).toBeLessThan(400);
    const record = await settledOnce();
    expect(record.status).toBe(499);
    expect(await openStreams()).toBe(0);
  });

  it("aborts the upstream call when the client leaves before the provider answers", async () => {
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}` },
      body: JSON.stringify({ model: "hang", messages: hello }),
      signal: controller.signal,
    }).catch(() => null);
    while (mock.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await pending;
    await mock.requests[0]!.closed;
    expect(mock.requests[0]!.clientAborted).toBe(true);
    expect((await settledOnce()).status).toBe(499);
  });
});

describe("providers that fail mid-stream", () => {
  it("ends an OpenAI stream with a well-formed error event that the SDK raises", async () => {
    const raw = await (await chat("cut-after-3", { stream: true })).text();
    expect(raw).toMatch(/\n\ndata: \{"error":\{"message":"[^"]+","type":"upstream_error","code":"upstream_error"\}\}\n\n$/);
    expect(raw.split("\n\n").filter((e) => e.includes("tok "))).toHaveLength(3);
    expect((await settledOnce()).status).toBe(502);

    forgetRecords();
    const stream = await openai.chat.completions.create({ model: "cut-after-3", messages: hello, stream: true });
    let text = "";
    await expect(async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    }).rejects.toThrow(/stream failed/);
    expect(text).toBe(mockCompletionText(3));
    await settledOnce();
  });

  it("ends an Anthropic stream with a well-formed error event that the SDK raises", async () => {
    const raw = await (
      await fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": key.secret, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "claude-cut-after-3", max_tokens: 50, messages: hello, stream: true }),
      })
    ).text();
    expect(raw).toMatch(/\n\nevent: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"[^"]+"\}\}\n\n$/);
    const record = await settledOnce();
    // message_start reported the input before the cut: that much is charged.
    expect(record).toMatchObject({ status: 502, inputTokens: 6 });

    forgetRecords();
    const stream = anthropic.messages.stream({ model: "claude-cut-after-3", max_tokens: 50, messages: hello });
    await expect(stream.finalMessage()).rejects.toThrow(/stream failed/);
    expect((await settledOnce()).status).toBe(502);
  });

  it("answers 502 for a JSON answer cut before any of it was relayed", async () => {
    // The mock sends half the body in one write and cuts: that piece is still held (see relay-response.ts).
    const res = await chat("cut-after-3");
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: "upstream_error" });
    expect((await settledOnce()).status).toBe(502);
  });

  it("closes the connection of a JSON answer cut after part of it was relayed rather than end it as if complete", async () => {
    const { res, body, error } = await rawChat("dribbled-cut");
    expect(res.statusCode).toBe(200);
    expect(error).not.toBeNull();
    expect(DRIBBLED.startsWith(body)).toBe(true);
    expect(body.length).toBeGreaterThan(0);
    expect(body.length).toBeLessThan(DRIBBLED.length);
    expect((await settledOnce()).status).toBe(502);
  });
});

describe("JSON answers", () => {
  it("sends a one-piece answer in one piece, framed by its Content-Length", async () => {
    const { res, body, error } = await rawChat("plain");
    expect(error).toBeNull();
    expect(res.headers["transfer-encoding"]).toBeUndefined();
    expect(res.headers["content-length"]).toBe(String(Buffer.byteLength(body)));
    expect(JSON.parse(body).choices[0].message.content).toBe(mockCompletionText(8));
    expect((await settledOnce()).outputTokens).toBe(8);
  });

  it("never holds back a stream, even one its provider labels as something other than SSE", async () => {
    let arrived = false;
    // The provider sends the rest only once the first piece has reached the client through the gateway.
    const answer = rawChat("dribbled-gated", {
      stream: true,
      onPiece: (index) => {
        arrived = true;
        if (index === 0) openGate();
      },
    });
    // Held back, the first piece would never come on its own: give up waiting after 5 s and let the provider go on.
    let heldBack = false;
    const giveUp = setTimeout(() => {
      heldBack = !arrived;
      openGate();
    }, 5_000);
    const { pieces, error } = await answer;
    clearTimeout(giveUp);
    expect(error).toBeNull();
    expect(heldBack).toBe(false);
    expect(pieces[0]).toBe(GATED_FIRST);
    expect(pieces.join("")).toBe(GATED_FIRST + GATED_REST);
    expect((await settledOnce()).status).toBe(200);
  });

  it("relays an answer that arrives in pieces byte for byte, and charges its usage", async () => {
    const { res, body, error } = await rawChat("dribbled");
    expect(error).toBeNull();
    expect(res.statusCode).toBe(200);
    expect(body).toBe(DRIBBLED);
    expect(await settledOnce()).toMatchObject({ status: 200, inputTokens: 5, outputTokens: 7 });
  });
});

describe("slow clients", () => {
  it("pauses the provider while a client is not reading, then delivers the whole stream intact", async () => {
    const body = JSON.stringify({ model: "big", messages: hello, stream: true });
    let sentWhilePaused = 0;
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      });
      req.on("response", (res) => {
        const parts: Buffer[] = [];
        res.once("data", (first: Buffer) => {
          parts.push(first);
          res.pause();
          setTimeout(() => {
            sentWhilePaused = mock.requests[0]!.contentChunksSent;
            res.on("data", (part: Buffer) => parts.push(part));
            res.resume();
          }, 1500);
        });
        res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
    // Without pausing upstream the mock would have sent everything into the gateway's memory by then.
    expect(sentWhilePaused).toBeLessThan(BIG_CHUNKS / 2);
    expect(mockChunksIn(received)).toBe(BIG_CHUNKS);
    expect(received.endsWith("data: [DONE]\n\n")).toBe(true);
    expect((await settledOnce()).outputTokens).toBe(BIG_CHUNKS);
  }, 30_000);
});
