// What the request handlers need from the rest of the data plane, gathered once at start-up.
import type { Admission, ProviderAdapter, Snapshot, UpstreamRequest } from "../contracts.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Config } from "../../shared/config.ts";
import type { UsageSink } from "./finish-call.ts";
import type { UpstreamResponse, UpstreamSignal, UpstreamTimeouts } from "../relay/upstream-client.ts";

export type GatewayConfig = Pick<
  Config,
  | "DATA_PLANE_HOST"
  | "DATA_PLANE_PORT"
  | "DATA_PLANE_MAX_BODY_BYTES"
  | "DEFAULT_MAX_TOKENS_ESTIMATE"
  | "UWS_ALLOW_FALLBACK"
  | "UPSTREAM_CONNECT_TIMEOUT_MS"
  | "UPSTREAM_FIRST_BYTE_TIMEOUT_MS"
  | "UPSTREAM_REQUEST_TIMEOUT_MS"
>;

/** Sends one upstream request; resolves at the response headers, rejects with UpstreamError (relay/upstream-error.ts). */
export type CallUpstream = (request: UpstreamRequest, signal: UpstreamSignal, timeouts: UpstreamTimeouts) => Promise<UpstreamResponse>;

export interface GatewayDeps {
  config: GatewayConfig;
  /** The snapshot in force; null or a negative version means none is loaded yet. */
  snapshot: () => Snapshot | null;
  admission: Admission;
  usage: UsageSink;
  metrics: GatewayMetrics;
  log: (line: string) => void;
  adapterFor: (kind: string) => ProviderAdapter | undefined;
  callUpstream: CallUpstream;
  /** From the UPSTREAM_* settings; a silence between body chunks gets the first-byte allowance. */
  timeouts: UpstreamTimeouts;
  /** Admitted requests not finished yet; shutdown waits for them. */
  inFlight: number;
}

export function isLoaded(snapshot: Snapshot | null): snapshot is Snapshot {
  return snapshot !== null && snapshot.version >= 0n;
}
