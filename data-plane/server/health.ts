// Operational endpoints: liveness, readiness (a policy snapshot is loaded) and Prometheus metrics.
import type { HttpResponse } from "uWebSockets.js";
import { gatewayError } from "./errors.ts";
import { Exchange } from "./exchange.ts";
import { type GatewayDeps, isLoaded } from "./gateway-deps.ts";

const LIVE = JSON.stringify({ status: "ok" });
const NOT_READY = gatewayError("unavailable", "No policy snapshot is loaded yet");

/** The process is up and serving: nothing else is checked, so an orchestrator never restarts a merely unready gateway. */
export function healthHandler(): (res: HttpResponse) => void {
  return (res) => {
    res.writeHeader("content-type", "application/json").end(LIVE);
  };
}

/** Ready once a snapshot is loaded: before that every request would be refused. */
export function readinessHandler(deps: GatewayDeps): (res: HttpResponse) => void {
  return (res) => {
    const snapshot = deps.snapshot();
    const exchange = new Exchange(res);
    if (!isLoaded(snapshot)) return exchange.sendError(NOT_READY);
    exchange.sendJson("200 OK", JSON.stringify({ status: "ready", snapshotVersion: snapshot.version.toString() }));
  };
}

export function metricsHandler(deps: GatewayDeps): (res: HttpResponse) => void {
  return (res) => {
    const exchange = new Exchange(res);
    const snapshot = deps.snapshot();
    deps.metrics.snapshotVersion.set(snapshot === null ? -1 : Number(snapshot.version));
    deps.metrics.render().then(
      ({ contentType, body }) => exchange.sendText("200 OK", contentType, body),
      (error: unknown) => {
        deps.log(`[data-plane] rendering metrics failed: ${(error as Error).message}`);
        exchange.sendError(gatewayError("internal_error"));
      },
    );
  };
}
