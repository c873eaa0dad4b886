// The undici upstream client against a local node:http server: statuses, error classes, abort and backpressure.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { UpstreamRequest } from "../../data-plane/contracts.ts";
import { forwardedHeaderName } from "../../data-plane/server/forwarded-headers.ts";
import { UpstreamAbort } from "../../data-plane/relay/upstream-abort.ts";
import { callUpstream, closeUpstreams, createUpstreamClient, DEFAULT_UPSTREAM_TIMEOUTS, type UpstreamClient, type UpstreamSignal } from "../../data-plane/relay/upstream-client.ts";
import { isRetryableStatus, UpstreamError } from "../../data-plane/relay/upstream-error.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function client(): UpstreamClient {
  const created = createUpstreamClient();
  cleanups.push(() => created.close(100));
  return created;
}

const post = (url: string, body = '{"model":"m"}'): UpstreamRequest => ({
  url,
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer sk-up" },
  body,
});

async function readAll(body: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts).toString();
}

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

const timeouts = (overrides: Partial<typeof DEFAULT_UPSTREAM_TIMEOUTS>) => ({ ...DEFAULT_UPSTREAM_TIMEOUTS, ...overrides });

describe("upstream client", () => {
  it("sends method, path, query, headers and body, and returns status, headers and the body", async () => {
    let seen: { method?: string; url?: string; auth?: string; body?: string } = {};
    const { url } = await serve(async (req, res) => {
      seen = { method: req.method, url: req.url, auth: req.headers.authorization, body: await readAll(req) };
      res.writeHead(200, { "content-type": "application/json", "x-request-id": "req_1", "set-cookie": ["a=1", "b=2"] });
      res.end('{"ok":true}');
    });
    const response = await client().call(post(`${url}/openai/deployments/d/chat/completions?api-version=2024-10-21`, '{"model":"m","x":1}'), new AbortController().signal);
    expect(response.status).toBe(200);
    expect(response.headers["x-request-id"]).toBe("req_1");
    expect(await readAll(response.body)).toBe('{"ok":true}');
    expect(seen).toEqual({ method: "POST", url: "/openai/deployments/d/chat/completions?api-version=2024-10-21", auth: "Bearer sk-up", body: '{"model":"m","x":1}' });
    // What the gateway relays of these headers is forwardedHeaderName's business (data-plane/server/forwarded-headers.ts).
    expect(forwardedHeaderName("x-request-id")).toBe("x-upstream-request-id");
    expect(forwardedHeaderName("set-cookie")).toBeNull();
    expect(forwardedHeaderName("content-length")).toBeNull();
  });

  it("reuses keep-alive connections instead of opening one per call", async () => {
    const { server, url } = await serve((_req, res) => res.end("ok"));
    let connections = 0;
    server.on("connection", () => connections++);
    const upstream = client();
    for (let i = 0; i < 10; i++) await readAll((await upstream.call(post(`${url}/v1/x`), new AbortController().signal)).body);
    // undici may open a second connection when a call races the previous response's completion, but never one per call.
    expect(connections).toBeLessThanOrEqual(2);
  });

  it("resolves 500 and 429 with their status and body, which the gateway may retry elsewhere", async () => {
    const { url } = await serve((req, res) => {
      const status = req.url === "/busy" ? 429 : req.url === "/bad" ? 400 : 500;
      res.writeHead(status, { "content-type": "application/json", ...(status === 429 ? { "retry-after": "7" } : {}) });
      res.end(`{"error":{"code":${status}}}`);
    });
    const upstream = client();
    const failed = await upstream.call(post(`${url}/boom`), new AbortController().signal);
    expect(failed.status).toBe(500);
    expect(await readAll(failed.body)).toBe('{"error":{"code":500}}');
    const busy = await upstream.call(post(`${url}/busy`), new AbortController().signal);
    expect(busy.status).toBe(429);
    expect(busy.headers["retry-after"]).toBe("7");
    await readAll(busy.body);
    const bad = await upstream.call(post(`${url}/bad`), new AbortController().signal);
    await readAll(bad.body);
    expect([failed.status, busy.status, bad.status].map(isRetryableStatus)).toEqual([true, true, false]);
  });

  it("classifies a refused connection as a retryable connect error", async () => {
    const { server, url } = await serve(() => {});
    await new Promise((resolve) => server.close(resolve));
    const error = await rejection(client().call(post(`${url}/v1/chat/completions`), new AbortController().signal));
    expect(error.kind).toBe("connect");
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("classifies a server that never answers as a retryable first-byte timeout", async () => {
    const { url } = await serve(() => {});
    const started = Date.now();
    const error = await rejection(client().call(post(`${url}/v1/chat/completions`), new AbortController().signal, timeouts({ firstByteMs: 200 })));
    expect(error.kind).toBe("timeout");
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("classifies a connection dropped before the response as a retryable reset", async () => {
    const { url } = await serve((req) => req.socket.destroy());
    const error = await rejection(client().call(post(`${url}/v1/chat/completions`), new AbortController().signal));
    expect(error.kind).toBe("reset");
    expect(error.retryable).toBe(true);
  });

  // The gateway cuts its calls with an UpstreamAbort; an AbortSignal must work the same.
  const switches: [string, () => { signal: UpstreamSignal; abort(): void }][] = [
    ["an UpstreamAbort", () => {
      const upstreamAbort = new UpstreamAbort();
      return { signal: upstreamAbort, abort: () => upstreamAbort.abort() };
    }],
    ["an AbortController's signal", () => {
      const controller = new AbortController();
      return { signal: controller.signal, abort: () => controller.abort() };
    }],
  ];

  it.each(switches)("classifies our own abort before the first byte as aborted, never retryable, with %s", async (_, make) => {
    const { url } = await serve(() => {});
    const controller = make();
    setTimeout(() => controller.abort(), 50);
    const error = await rejection(client().call(post(`${url}/v1/chat/completions`), controller.signal));
    expect(error.kind).toBe("aborted");
    expect(error.retryable).toBe(false);
  });

  it.each(switches)("closes the upstream connection promptly when aborted mid-body with %s", async (_, make) => {
    let serverSawClose: Promise<unknown> = Promise.resolve();
    const { url } = await serve((_req, res) => {
      serverSawClose = once(res, "close");
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"n":1}\n\n');
    });
    const controller = make();
    const response = await client().call(post(`${url}/v1/chat/completions`), controller.signal);
    const [first] = (await once(response.body, "data")) as [Buffer];
    expect(first.toString()).toBe('data: {"n":1}\n\n');
    const bodyError = once(response.body, "error");
    const started = Date.now();
    controller.abort();
    await serverSawClose;
    expect(Date.now() - started).toBeLessThan(1_000);
    const [error] = (await bodyError) as [Error];
    expect(error.name).toBe("AbortError");
  });

  it("stops reading from the upstream while the body is paused, and resumes when it is read", async () => {
    const chunk = Buffer.alloc(64 * 1024, 97);
    const total = 64 * 1024 * 1024;
    let written = 0;
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      // Writes as fast as the socket takes them: only a client that stopped reading can hold this below `total`.
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const response = await client().call(post(`${url}/v1/chat/completions`), new AbortController().signal);
    response.body.pause();
    // Wait until the server's writes stall (no progress for 300 ms).
    for (let last = -1; last !== written; ) {
      last = written;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(total / 2);
    let received = 0;
    response.body.on("data", (part: Buffer) => (received += part.length));
    response.body.resume();
    await once(response.body, "end");
    expect(received).toBe(total);
    expect(written).toBe(total);
  });

  it("fails a body that goes silent for longer than the body idle timeout", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: {}\n\n");
    });
    const response = await client().call(post(`${url}/v1/chat/completions`), new AbortController().signal, timeouts({ bodyIdleMs: 200 }));
    const error = await readAll(response.body).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(error?.code).toBe("UND_ERR_BODY_TIMEOUT");
  });

  it("shares one process-wide client through callUpstream and closeUpstreams", async () => {
    const { url } = await serve((_req, res) => res.end("shared"));
    const response = await callUpstream(post(`${url}/v1/x`), new AbortController().signal);
    expect(await readAll(response.body)).toBe("shared");
    await closeUpstreams(100);
    // Closing drops the pools; a later call opens a fresh one.
    expect(await readAll((await callUpstream(post(`${url}/v1/x`), new AbortController().signal)).body)).toBe("shared");
    await closeUpstreams(100);
  });

  it("destroys streams still open when the close grace period ends", async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      res.write("partial");
    });
    const upstream = createUpstreamClient();
    const response = await upstream.call(post(`${url}/v1/x`), new AbortController().signal);
    const ended = new Promise((resolve) => response.body.on("error", resolve).on("close", resolve));
    response.body.resume();
    const started = Date.now();
    await upstream.close(150);
    await ended;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
