// The data plane's HTTP server on uWebSockets.js: the routes, listening, and shutting down.
import type { us_listen_socket } from "uWebSockets.js";
import type { Admission, ProviderAdapter, Snapshot } from "../contracts.ts";
import { createGatewayMetrics, type GatewayMetrics } from "../metrics/gateway-metrics.ts";
import { adapterFor as registeredAdapterFor } from "../providers/registry.ts";
import { callUpstream as sharedCallUpstream } from "../relay/upstream-client.ts";
import { afterResponsesRun } from "./after-responses.ts";
import { gatewayError } from "./errors.ts";
import { Exchange } from "./exchange.ts";
import type { UsageSink } from "./finish-call.ts";
import type { CallUpstream, GatewayConfig, GatewayDeps } from "./gateway-deps.ts";
import { inferenceHandler } from "./handle-inference.ts";
import { healthHandler, metricsHandler, readinessHandler } from "./health.ts";
import { listModelsHandler } from "./list-models.ts";
import { loadUws } from "./native-uws.ts";
import { reject } from "./reject.ts";

export interface GatewayOptions {
  config: GatewayConfig;
  /** The snapshot in force (read per request, so a resync swaps it without restarting); null before the first load. */
  snapshot: () => Snapshot | null;
  admission: Admission;
  usage: UsageSink;
  metrics?: GatewayMetrics;
  log?: (line: string) => void;
  /** Seams for tests; the defaults are the provider registry and the process-wide undici client. */
  adapterFor?: (kind: string) => ProviderAdapter | undefined;
  callUpstream?: CallUpstream;
}

export interface Gateway {
  /** The port really listened on (DATA_PLANE_PORT=0 picks a free one). */
  port: number;
  metrics: GatewayMetrics;
  /** Requests admitted or waiting for admission, not finished yet. */
  inFlight(): number;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `graceMs`, then closes every connection
   * (streams still open are aborted, and so settled and recorded like any client disconnect).
   */
  close(graceMs?: number): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const uws = loadUws({ allowFallback: config.UWS_ALLOW_FALLBACK, warn: log });
  const metrics = options.metrics ?? createGatewayMetrics();
  const deps: GatewayDeps = {
    config,
    snapshot: options.snapshot,
    admission: options.admission,
    usage: options.usage,
    metrics,
    log,
    adapterFor: options.adapterFor ?? registeredAdapterFor,
    callUpstream: options.callUpstream ?? sharedCallUpstream,
    timeouts: {
      connectMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
      firstByteMs: config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
      bodyIdleMs: config.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
    },
    inFlight: 0,
  };
  const notFound = gatewayError("not_found");

  const app = uws
    .App()
    .post("/v1/chat/completions", inferenceHandler(deps, "chat"))
    .post("/v1/embeddings", inferenceHandler(deps, "embeddings"))
    .post("/v1/messages", inferenceHandler(deps, "messages"))
    .post("/v1/messages/count_tokens", inferenceHandler(deps, "count_tokens"))
    .get("/v1/models", listModelsHandler(deps))
    .get("/healthz", healthHandler())
    .get("/readyz", readinessHandler(deps))
    .get("/metrics", metricsHandler(deps))
    .any("/*", (res) => reject(metrics, "unknown", new Exchange(res), notFound));

  return new Promise((resolve, reject) => {
    app.listen(config.DATA_PLANE_HOST, config.DATA_PLANE_PORT, (socket: us_listen_socket | false) => {
      if (socket === false) {
        reject(new Error(`The data plane could not listen on ${config.DATA_PLANE_HOST}:${config.DATA_PLANE_PORT} (address in use or not available)`));
        return;
      }
      let listening: us_listen_socket | null = socket;
      resolve({
        port: uws.us_socket_local_port(socket),
        metrics,
        inFlight: () => deps.inFlight,
        async close(graceMs = 0) {
          if (listening !== null) uws.us_listen_socket_close(listening);
          listening = null;
          const giveUpAt = Date.now() + graceMs;
          while (deps.inFlight > 0 && Date.now() < giveUpAt) await new Promise((r) => setTimeout(r, 25));
          // The fallback implementation has no app.close(); its connections end with the process.
          (app as { close?: () => void }).close?.();
          // Closing aborted the streams still open; their usage is recorded after this turn's responses.
          await afterResponsesRun();
        },
      });
    });
  });
}
