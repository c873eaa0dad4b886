// The inference endpoints: authenticate, parse, authorize, admit, then hand over to the upstream call.
import { randomUUID } from "node:crypto";
import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { AdmitResult, EndpointKind, KeyEntry, ProviderAdapter, RouteTarget, Snapshot, WireFormat } from "../contracts.ts";
import { apiKeyFromHeaders, authenticate, keyMayUse } from "./authenticate.ts";
import { type GatewayError, gatewayError } from "./errors.ts";
import { NO_USAGE, usageRecord } from "./finish-call.ts";
import { estimateUsage, type UsageEstimate } from "./estimate-usage.ts";
import { Exchange } from "./exchange.ts";
import { type GatewayDeps, isLoaded } from "./gateway-deps.ts";
import { parseInferenceBody, type ParsedRequest } from "./parse-request.ts";
import { readBody } from "./read-body.ts";
import { reject } from "./reject.ts";
import { UpstreamCall } from "./upstream-call.ts";

const INVALID_KEY = gatewayError("invalid_api_key");
const NOT_READY = gatewayError("unavailable", "The gateway has not loaded its policy yet; try again shortly");

export function clientFormat(endpoint: EndpointKind): WireFormat {
  return endpoint === "messages" || endpoint === "count_tokens" ? "anthropic" : "openai";
}

/**
 * The key is checked from the headers before the body is read, so unauthenticated traffic costs no buffering.
 * Everything that needs the request object (headers) is copied out synchronously: uWS's HttpRequest dies with the
 * handler's return.
 */
export function inferenceHandler(deps: GatewayDeps, endpoint: EndpointKind): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const startedAt = performance.now();
    const exchange = new Exchange(res);
    const snapshot = deps.snapshot();
    if (!isLoaded(snapshot)) return reject(deps.metrics, endpoint, exchange, NOT_READY);
    const key = authenticate(snapshot, apiKeyFromHeaders(req.getHeader("authorization"), req.getHeader("x-api-key")), Date.now());
    if (key === null) return reject(deps.metrics, endpoint, exchange, INVALID_KEY);
    const request = new InferenceRequest(deps, endpoint, exchange, snapshot, key, anthropicHeaders(req), startedAt);
    readBody(exchange, req.getHeader("content-length"), deps.config.DATA_PLANE_MAX_BODY_BYTES, request);
  };
}

/** Only these client headers reach a provider (and only through the adapter); the client's credentials never do. */
function anthropicHeaders(req: HttpRequest): Record<string, string> {
  const version = req.getHeader("anthropic-version");
  const beta = req.getHeader("anthropic-beta");
  if (version === "" && beta === "") return NO_HEADERS;
  const headers: Record<string, string> = {};
  if (version !== "") headers["anthropic-version"] = version;
  if (beta !== "") headers["anthropic-beta"] = beta;
  return headers;
}

const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

class InferenceRequest {
  constructor(
    private readonly deps: GatewayDeps,
    private readonly endpoint: EndpointKind,
    private readonly exchange: Exchange,
    private readonly snapshot: Snapshot,
    private readonly key: KeyEntry,
    private readonly clientHeaders: Record<string, string>,
    private readonly startedAt: number,
  ) {}

  /** The checks that need the body, in the order DESIGN.md lists the errors. */
  onBody(raw: Buffer): void {
    const { deps, endpoint } = this;
    const parsed = parseInferenceBody(raw);
    if (typeof parsed === "string") return this.refuse(gatewayError("invalid_request", parsed), "");
    const slug = parsed.model;
    if (!this.snapshot.modelsBySlug.has(slug)) return this.refuse(gatewayError("model_not_found", `The model "${slug}" does not exist`), slug);
    if (!keyMayUse(this.key, slug)) return this.refuse(gatewayError("access_denied"), slug);
    const granted = this.key.principal.models.get(slug)!;
    const routes = routesServing(granted, endpoint, deps.adapterFor);
    if (routes.length === 0) return this.refuse(servedElsewhere(granted, deps.adapterFor) ? wrongEndpoint(slug, endpoint) : gatewayError("no_available_route"), slug);
    const estimate = estimateUsage(endpoint, raw.length, parsed.body, routes[0], deps.config.DEFAULT_MAX_TOKENS_ESTIMATE);
    this.admit(parsed, routes, estimate).catch((error: unknown) => {
      deps.log(`[data-plane] admission failed unexpectedly: ${(error as Error).stack ?? String(error)}`);
      this.refuse(gatewayError("internal_error"), slug);
    });
  }

  /**
   * Answers a refusal and, since the caller is known, records it: one usage record per request (DESIGN), at no cost.
   * Requests without a valid key have no principal to record against and are only counted in metrics.
   */
  private refuse(error: GatewayError, slug: string, headers?: Record<string, string>): void {
    reject(this.deps.metrics, this.endpoint, this.exchange, error, headers);
    this.deps.usage.add(
      usageRecord(this.key, {
        requestId: randomUUID(),
        modelSlug: slug,
        providerModelId: null,
        usage: NO_USAGE,
        costMicros: 0n,
        status: error.status,
        latencyMs: performance.now() - this.startedAt,
        ttfbMs: null,
        createdAt: new Date(),
      }),
    );
  }

  private async admit(parsed: ParsedRequest, routes: readonly RouteTarget[], estimate: UsageEstimate): Promise<void> {
    const { deps, key, exchange, endpoint } = this;
    const buckets = key.bucket === null ? [key.principal.bucket] : [key.principal.bucket, key.bucket];
    let verdict: AdmitResult;
    const asked = performance.now();
    // In flight while admission decides, so that a shutdown's grace covers this request too; the UpstreamCall (or the
    // refusal's record) takes over in the same turn as the count drops.
    deps.inFlight++;
    try {
      verdict = await deps.admission.admit(buckets, estimate, Date.now());
    } catch (error) {
      deps.log(`[data-plane] admission could not decide: ${(error as Error).message}`);
      verdict = { ok: false, reason: "unavailable", message: "", headers: {} };
    } finally {
      deps.inFlight--;
    }
    deps.metrics.admissionWait.observe((performance.now() - asked) / 1000);
    if (!verdict.ok) {
      const headers = verdict.retryAfterSeconds === undefined || "retry-after" in verdict.headers
        ? verdict.headers
        : { ...verdict.headers, "retry-after": String(verdict.retryAfterSeconds) };
      return this.refuse(gatewayError(verdict.reason, verdict.message || undefined), parsed.model, headers);
    }
    const call = new UpstreamCall(deps, endpoint, clientFormat(endpoint), exchange, key, parsed, this.clientHeaders, this.startedAt, verdict);
    await call.run(routes);
  }
}

/** A chat slug sent to /v1/messages is the client's mistake, not an outage: 404, not the 503 of a model without routes. */
function servedElsewhere(routes: readonly RouteTarget[], adapterFor: (kind: string) => ProviderAdapter | undefined): boolean {
  return routes.some((route) => adapterFor(route.providerKind) !== undefined);
}

function wrongEndpoint(slug: string, endpoint: EndpointKind): GatewayError {
  return gatewayError("model_not_found", `The model "${slug}" is not served on this endpoint (${endpoint})`);
}

/** The model's routes whose provider adapter serves this endpoint; the same array when all of them do. */
function routesServing(
  routes: readonly RouteTarget[],
  endpoint: EndpointKind,
  adapterFor: (kind: string) => ProviderAdapter | undefined,
): readonly RouteTarget[] {
  let all = true;
  for (const route of routes) if (adapterFor(route.providerKind)?.endpoints.has(endpoint) !== true) all = false;
  if (all) return routes;
  return routes.filter((route) => adapterFor(route.providerKind)?.endpoints.has(endpoint) === true);
}
