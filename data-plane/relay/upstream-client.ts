// Calls providers with undici: one keep-alive pool per origin, timeouts for connect, first byte and body idle, abortable.
import type { IncomingHttpHeaders } from "node:http";
import { Pool, type Dispatcher } from "undici";
import type { UpstreamRequest } from "../contracts.ts";
import type { UpstreamAbort } from "./upstream-abort.ts";
import { classifyUpstreamError, UpstreamError } from "./upstream-error.ts";

export interface UpstreamTimeouts {
  /** Establishing the TCP (and TLS) connection. */
  connectMs: number;
  /** From sending the request to the response headers; a non-streamed completion only answers when done, so be generous. */
  firstByteMs: number;
  /** The longest silence allowed between two body chunks (a reasoning model can think a while between tokens). */
  bodyIdleMs: number;
}

export const DEFAULT_UPSTREAM_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, firstByteMs: 300_000, bodyIdleMs: 300_000 };

/** A Node Readable (undici's BodyReadable): `data`/`end`/`error` events, pause()/resume() for backpressure, destroy(). */
export type UpstreamBody = Dispatcher.ResponseData["body"];

export interface UpstreamResponse {
  status: number;
  /** Lower-cased names, as undici gives them; the gateway relays them through forwardedHeaderName() (server/forwarded-headers.ts). */
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

export interface UpstreamClientOptions {
  /** Connections per origin; null (the default) grows with demand, which suits many concurrent streams. */
  connectionsPerOrigin?: number | null;
  /** Idle keep-alive time when the server gives no hint; below the usual 5 s server default avoids reusing a closing socket. */
  keepAliveTimeoutMs?: number;
}

/** What cuts a call short: the gateway uses the cheaper UpstreamAbort; an AbortSignal works the same. */
export type UpstreamSignal = AbortSignal | UpstreamAbort;

export interface UpstreamClient {
  /**
   * Sends the request and resolves once response headers arrive, whatever the status (the gateway decides on 429/5xx).
   * Rejects with UpstreamError (kind connect | timeout | reset | aborted | failed). Aborting `signal` later destroys
   * the body and the upstream connection.
   */
  call(req: UpstreamRequest, signal: UpstreamSignal, timeouts?: UpstreamTimeouts): Promise<UpstreamResponse>;
  /** Lets in-flight responses finish for up to `graceMs`, then destroys what is left. */
  close(graceMs?: number): Promise<void>;
}

type Target = { origin: string; path: string };
// Routes give a small, fixed set of URLs; caching their split saves a URL parse per request.
const TARGET_CACHE_MAX = 1024;

export function createUpstreamClient(options: UpstreamClientOptions = {}): UpstreamClient {
  const pools = new Map<string, Pool>();
  const targets = new Map<string, Target>();

  function poolFor(origin: string, connectMs: number): Pool {
    // Connect timeout is a pool setting; the key includes it so a different setting never reuses the wrong pool.
    const key = `${connectMs} ${origin}`;
    let pool = pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: options.connectionsPerOrigin ?? null,
        connectTimeout: connectMs,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      });
      pools.set(key, pool);
    }
    return pool;
  }

  function targetOf(url: string): Target {
    let target = targets.get(url);
    if (target === undefined) {
      const parsed = new URL(url);
      target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
      if (targets.size >= TARGET_CACHE_MAX) targets.clear();
      targets.set(url, target);
    }
    return target;
  }

  return {
    async call(req, signal, timeouts = DEFAULT_UPSTREAM_TIMEOUTS) {
      const target = targetOf(req.url);
      try {
        const response = await poolFor(target.origin, timeouts.connectMs).request({
          path: target.path,
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal,
          headersTimeout: timeouts.firstByteMs,
          bodyTimeout: timeouts.bodyIdleMs,
        });
        return { status: response.statusCode, headers: response.headers, body: response.body };
      } catch (error) {
        throw new UpstreamError(classifyUpstreamError(error, signal.aborted), req.url, { cause: error });
      }
    },

    async close(graceMs = 10_000) {
      const all = [...pools.values()];
      pools.clear();
      targets.clear();
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      });
      await Promise.race([Promise.allSettled(all.map((pool) => pool.close())), graceOver]);
      clearTimeout(timer);
      await Promise.allSettled(all.filter((pool) => !pool.destroyed).map((pool) => pool.destroy()));
    },
  };
}

const shared = createUpstreamClient();

/** Calls through the process-wide client (see UpstreamClient.call). */
export function callUpstream(req: UpstreamRequest, signal: UpstreamSignal, timeouts?: UpstreamTimeouts): Promise<UpstreamResponse> {
  return shared.call(req, signal, timeouts);
}

/** Closes the process-wide client's pools (see UpstreamClient.close). */
export function closeUpstreams(graceMs?: number): Promise<void> {
  return shared.close(graceMs);
}
