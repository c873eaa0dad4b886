// An admitted request's trip upstream: try routes in order, fall back before the first byte, relay, then finish.
import { randomUUID } from "node:crypto";
import type { AdmissionTicket, EndpointKind, KeyEntry, RequestBody, RouteTarget, UpstreamRequest, UsageScanner, WireFormat } from "../contracts.ts";
import { needsStreamUsage, withStreamUsage } from "../providers/openai/stream-usage.ts";
import { UpstreamAbort } from "../relay/upstream-abort.ts";
import type { UpstreamResponse } from "../relay/upstream-client.ts";
import { isRetryableStatus, UpstreamError } from "../relay/upstream-error.ts";
import { type AfterResponse, afterResponses } from "./after-responses.ts";
import { drainAnswer, type FailedAnswer } from "./drain-answer.ts";
import { type GatewayError, gatewayError, statusLine } from "./errors.ts";
import { estimateInputTokens } from "./estimate-usage.ts";
import type { Exchange } from "./exchange.ts";
import { type CallRecord, finishCall } from "./finish-call.ts";
import type { GatewayDeps } from "./gateway-deps.ts";
import type { ParsedRequest } from "./parse-request.ts";
import { type RelayOutcome, ResponseRelay } from "./relay-response.ts";
import { orderRoutes } from "./route-order.ts";
import { spliceModel } from "./splice-model.ts";

/** nginx's code for "client closed the request": recorded, never sent. */
const CLIENT_CLOSED = 499;
/** JSON.parse takes any depth, JSON.stringify overflows the stack past some thousands: the body is at fault, not the route. */
const UNENCODABLE = "unencodable";
const TOO_DEEP = gatewayError("invalid_request", "The request body is nested too deeply");

export class UpstreamCall implements CallRecord, AfterResponse {
  readonly requestId = randomUUID();
  readonly createdAt = new Date();
  readonly slug: string;
  ticket: AdmissionTicket | null;
  route: RouteTarget | null = null;
  ttfbMs: number | null = null;
  awaitingAnswer = false;
  endedAt = 0;
  private status = 0;
  /** What finish() was given, for afterResponse(). */
  private finalStatus = 0;
  private finalAnswer: UsageScanner | null = null;
  private finished = false;
  private readonly upstreamAbort = new UpstreamAbort();
  private readonly responseHeaders: Record<string, string>;
  /** UPSTREAM_REQUEST_TIMEOUT_MS: the whole call, stream included, is cut past it (the client gets an error event). */
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly deps: GatewayDeps,
    readonly endpoint: EndpointKind,
    private readonly format: WireFormat,
    private readonly exchange: Exchange,
    readonly key: KeyEntry,
    private readonly request: ParsedRequest,
    private readonly clientHeaders: Record<string, string>,
    readonly startedAt: number,
    admitted: { ticket: AdmissionTicket; headers: Record<string, string> },
  ) {
    this.slug = request.model;
    this.ticket = admitted.ticket;
    this.responseHeaders = { ...admitted.headers, "x-request-id": this.requestId };
    // Arrows assigned in the constructor, not arrow-function fields: tsx (esbuild's keepNames) gives each such field a
    // defineProperty per instance, measurable at load (see relay-response.ts).
    exchange.onAbort = () => this.clientAborted();
    this.deadline = setTimeout(() => this.passDeadline(), deps.config.UPSTREAM_REQUEST_TIMEOUT_MS);
    this.deadline.unref();
    deps.inFlight++;
  }

  private passDeadline(): void {
    this.deps.log(`[data-plane] request ${this.requestId} passed UPSTREAM_REQUEST_TIMEOUT_MS; aborting it upstream`);
    this.upstreamAbort.abort();
  }

  inputEstimate(): number {
    try {
      return estimateInputTokens(this.endpoint, this.request.body);
    } catch {
      // A body nested too deeply for the estimate's recursion; this runs while settling, which must not throw.
      return 1;
    }
  }

  private clientAborted(): void {
    this.upstreamAbort.abort();
    this.finish(CLIENT_CLOSED, null);
  }

  /**
   * Routes are tried in order until one answers with something other than a 5xx or 429; only those two (and connect
   * errors and timeouts) fall through, because they say nothing about the request itself. The last route's answer is
   * relayed whatever it is; if the last one did not answer, the latest failed answer is passed through instead.
   */
  async run(routes: readonly RouteTarget[]): Promise<void> {
    // The client may have left while admission was deciding.
    if (this.exchange.aborted) return this.finish(CLIENT_CLOSED, null);
    const ordered = orderRoutes(routes);
    let failed: FailedAnswer | null = null;
    for (let i = 0; i < ordered.length; i++) {
      if (this.finished) return;
      const route = ordered[i]!;
      const attempt = this.build(route);
      if (attempt === UNENCODABLE) return this.refuse(TOO_DEEP);
      if (attempt === null) continue;
      this.route = route;
      const sentAt = performance.now();
      let answer: UpstreamResponse;
      // A client leaving while this is set is charged the input estimate (see chargedUsage in finish-call.ts). Once
      // finished it stays as it was: the record is made after this turn's responses (finish()).
      this.awaitingAnswer = true;
      try {
        answer = await this.deps.callUpstream(attempt.request, this.upstreamAbort, this.deps.timeouts);
      } catch (error) {
        if (this.finished) return;
        this.awaitingAnswer = false;
        this.deps.log(`[data-plane] ${route.providerName} (${route.upstreamModel}) failed: ${(error as Error).message}`);
        // Only failures that prove the provider never started answering are worth another route.
        if (error instanceof UpstreamError && error.retryable) continue;
        break;
      }
      this.deps.metrics.upstreamDuration.labels(route.providerName).observe((performance.now() - sentAt) / 1000);
      if (this.finished) {
        answer.body.destroy();
        return;
      }
      this.awaitingAnswer = false;
      if (isRetryableStatus(answer.status) && i < ordered.length - 1) {
        failed = await drainAnswer(answer);
        continue;
      }
      return this.relay(route, answer, attempt.hideInjectedUsage);
    }
    if (this.finished) return;
    if (failed !== null) return this.passThrough(failed);
    this.refuse(gatewayError("no_available_route"));
  }

  private refuse(error: GatewayError): void {
    this.deps.metrics.rejections.labels(error.kind).inc();
    this.exchange.sendError(error, this.responseHeaders);
    this.finish(error.status, null);
  }

  /** The upstream request for one route, or null when the route cannot be used (logged; the next one is tried). */
  private build(route: RouteTarget): { request: UpstreamRequest; hideInjectedUsage: boolean } | typeof UNENCODABLE | null {
    const adapter = this.deps.adapterFor(route.providerKind)!;
    // A streamed OpenAI chat reports usage only when asked: ask, and hide the answer from a client that did not.
    const askUsage = this.endpoint === "chat" && adapter.format === "openai" && this.request.stream && needsStreamUsage(this.request.body);
    const raw = this.request.raw;
    let body: RequestBody | null = raw === null ? null : spliceModel(raw, route.upstreamModel, askUsage);
    if (body === null) {
      const replaced = { ...this.request.body, model: route.upstreamModel };
      body = askUsage ? withStreamUsage(replaced).body : replaced;
    }
    try {
      return { request: adapter.buildRequest(route, this.endpoint, body, this.clientHeaders), hideInjectedUsage: askUsage };
    } catch (error) {
      if (error instanceof RangeError) return UNENCODABLE;
      this.deps.log(`[data-plane] route ${route.routeId} unusable: ${(error as Error).message}`);
      return null;
    }
  }

  private relay(route: RouteTarget, answer: UpstreamResponse, hideInjectedUsage: boolean): void {
    this.ttfbMs = performance.now() - this.startedAt;
    // No route is tried after this one: the client's bytes need not be held for the rest of the stream.
    this.request.raw = null;
    this.status = answer.status;
    const ok = answer.status >= 200 && answer.status < 300;
    const adapter = this.deps.adapterFor(route.providerKind)!;
    const scanner = ok ? adapter.usageScanner(this.endpoint, this.request.stream, hideInjectedUsage) : null;
    this.deps.metrics.openStreams.inc();
    new ResponseRelay(this.exchange, answer, scanner, this.format, this.responseHeaders, this, this.request.stream).start();
  }

  relayDone(outcome: RelayOutcome, scanner: UsageScanner | null): void {
    this.deps.metrics.openStreams.dec();
    if (outcome === "client_aborted") this.upstreamAbort.abort();
    const status = outcome === "client_aborted" ? CLIENT_CLOSED : outcome === "complete" && scanner?.providerFailed() !== true ? this.status : 502;
    this.finish(status, scanner);
  }

  private passThrough(failed: FailedAnswer): void {
    const exchange = this.exchange;
    if (exchange.open) {
      exchange.finished = true;
      const res = exchange.res;
      res.cork(() => {
        res.writeStatus(statusLine(failed.statusCode));
        for (const name in failed.headers) res.writeHeader(name, failed.headers[name]!);
        for (const name in this.responseHeaders) res.writeHeader(name, this.responseHeaders[name]!);
        res.end(failed.body);
      });
    }
    this.finish(failed.statusCode, null);
  }

  /**
   * Exactly once per admitted request: settles the reservation and records usage (`answer`: the relayed answer's
   * scanner). The response is already out; the bookkeeping waits until this turn's other responses are too.
   */
  private finish(status: number, answer: UsageScanner | null): void {
    if (this.finished) return;
    this.finished = true;
    this.exchange.onAbort = null;
    clearTimeout(this.deadline);
    this.endedAt = performance.now();
    this.finalStatus = status;
    this.finalAnswer = answer;
    afterResponses(this);
  }

  afterResponse(): void {
    // In flight until recorded: shutdown waits for inFlight to reach 0 before it closes the usage writer.
    this.deps.inFlight--;
    try {
      finishCall(this.deps, this, this.finalStatus, this.finalAnswer);
    } catch (error) {
      this.deps.log(`[data-plane] finishing ${this.requestId} failed: ${(error as Error).stack ?? String(error)}`);
    }
  }
}
