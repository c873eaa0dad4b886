// Refusing a request before it reaches a provider: the table's error, counted by reason and by route.
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { GatewayError } from "./errors.ts";
import type { Exchange } from "./exchange.ts";
import { statusLabel } from "./finish-call.ts";

export function reject(
  metrics: GatewayMetrics,
  route: string,
  exchange: Exchange,
  error: GatewayError,
  headers?: Record<string, string>,
): void {
  metrics.rejections.labels(error.kind).inc();
  metrics.requests.labels(route, statusLabel(error.status)).inc();
  exchange.sendError(error, headers);
}
