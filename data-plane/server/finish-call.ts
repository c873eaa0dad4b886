// The end of every admitted request, whatever happened: settle the reservation once, record usage, count metrics.
import type { AdmissionTicket, EndpointKind, KeyEntry, RouteTarget, UsageCounts, UsageRecordInput, UsageScanner } from "../contracts.ts";
import { costMicros } from "../../shared/money.ts";
import type { GatewayDeps } from "./gateway-deps.ts";

export interface UsageSink {
  add(record: UsageRecordInput): void;
}

/** The one shape of a usage record, for admitted requests and refusals alike; the principal comes from the key. */
export function usageRecord(
  key: KeyEntry,
  r: {
    requestId: string;
    modelSlug: string;
    providerModelId: string | null;
    usage: UsageCounts;
    costMicros: bigint;
    status: number;
    latencyMs: number;
    ttfbMs: number | null;
    createdAt: Date;
  },
): UsageRecordInput {
  const principal = key.principal;
  return {
    requestId: r.requestId,
    userId: principal.kind === "user" ? principal.id : null,
    virtualAccountId: principal.kind === "virtualAccount" ? principal.id : null,
    apiKeyId: key.keyId,
    modelSlug: storableName(r.modelSlug),
    providerModelId: r.providerModelId,
    inputTokens: storableCount(r.usage.inputTokens),
    outputTokens: storableCount(r.usage.outputTokens),
    cachedTokens: storableCount(r.usage.cachedTokens),
    costMicros: r.costMicros,
    status: r.status,
    latencyMs: Math.round(r.latencyMs),
    ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs),
    createdAt: r.createdAt,
  };
}

const MAX_RECORDED_NAME = 200;

/**
 * A refusal records the model name the client sent, which can be anything. Postgres text cannot hold NUL, and one
 * such record would fail its whole batch on every retry, holding back every record behind it; lone surrogates are
 * replaced too, as UTF-8 cannot carry them, and a name past 200 characters is cut, since no model's slug is that long.
 */
export function storableName(name: string): string {
  const capped = name.length > MAX_RECORDED_NAME ? `${name.slice(0, MAX_RECORDED_NAME)}…` : name;
  return capped.replaceAll("\u0000", "\ufffd").toWellFormed();
}

/**
 * Token columns are 32-bit. A provider reporting more than 2^31 − 1 tokens for one request is reporting garbage, but
 * the record must still be written (a refused one is dropped), so the count is capped; the cost, a bigint computed
 * from the reported counts, is charged as reported.
 */
export function storableCount(tokens: number): number {
  return Math.min(tokens, INT32_MAX);
}

const INT32_MAX = 2_147_483_647;

export type FinishDeps = Pick<GatewayDeps, "admission" | "usage" | "metrics" | "log">;

/** What finish needs to know about one request; filled in as the request goes along. */
export interface CallRecord {
  requestId: string;
  endpoint: EndpointKind;
  key: KeyEntry;
  slug: string;
  createdAt: Date;
  /** performance.now() at arrival. */
  startedAt: number;
  /** performance.now() when the request ended (its usage may be recorded a little later). */
  endedAt: number;
  ticket: AdmissionTicket | null;
  /** The route that answered last (its prices apply), null when none was reached. */
  route: RouteTarget | null;
  ttfbMs: number | null;
  /** True while a request to `route` is with the provider and no answer has come back; as it was when the request ended. */
  awaitingAnswer: boolean;
  /** The gateway's own estimate of the request's input tokens (server/estimate-usage.ts), for when the provider never said. */
  inputEstimate(): number;
}

export const NO_USAGE: UsageCounts = { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };

/**
 * The tokens a finished request is charged for, so that leaving early never costs less than what was used:
 * - the provider's final report (`answer.complete()`): exactly that;
 * - a 2xx answer that ended without it (client gone or provider failed mid-stream, or a server that does not report
 *   usage): an estimate. Input is what the provider reported (Anthropic's message_start), else the gateway's estimate
 *   from the request body; output is one token per content delta relayed (OpenAI streams about one token per delta,
 *   Anthropic often several, so this errs low), or the provider's own partial count if higher. A JSON answer cut short
 *   has no deltas to count, so it is charged its input only;
 * - no answer: the input estimate when the request was with the provider as the client left (providers bill a prompt
 *   they have started on), else nothing (never sent, every route failed, or only error answers, which are not billed).
 * Estimated records look like reported ones in the usage table (no schema change); their status tells how the request
 * ended (499 client gone, 502 provider failed).
 */
export function chargedUsage(call: CallRecord, answer: UsageScanner | null): UsageCounts {
  if (answer === null) return call.awaitingAnswer ? { inputTokens: call.inputEstimate(), outputTokens: 0, cachedTokens: 0 } : NO_USAGE;
  const reported = answer.usage();
  if (answer.complete()) return reported;
  const inputKnown = reported.inputTokens > 0;
  return {
    inputTokens: inputKnown ? reported.inputTokens : call.inputEstimate(),
    outputTokens: Math.max(reported.outputTokens, answer.producedEvents()),
    cachedTokens: inputKnown ? reported.cachedTokens : 0,
  };
}

/**
 * Charged cost uses the answering route's prices; usage is what chargedUsage says. Settling cannot fail the request
 * any more: an error there is logged and the counters heal at the next window.
 */
export function finishCall(deps: FinishDeps, call: CallRecord, status: number, answer: UsageScanner | null): void {
  const usage = call.route === null ? NO_USAGE : chargedUsage(call, answer);
  const latencyMs = call.endedAt - call.startedAt;
  const cost = call.route === null ? 0n : chargedCost(usage, call.route, deps.log);
  const ticket = call.ticket;
  if (ticket !== null) {
    call.ticket = null;
    deps.admission
      .settle(ticket, { tokens: usage.inputTokens + usage.outputTokens, micros: cost })
      .catch((error: unknown) => deps.log(`[data-plane] settling ${call.requestId} failed: ${(error as Error).message}`));
  }
  deps.usage.add(
    usageRecord(call.key, {
      requestId: call.requestId,
      modelSlug: call.slug,
      providerModelId: call.route === null ? null : call.route.providerModelId,
      usage,
      costMicros: cost,
      status,
      latencyMs,
      ttfbMs: call.ttfbMs,
      createdAt: call.createdAt,
    }),
  );
  const metrics = deps.metrics;
  metrics.requests.labels(call.endpoint, statusLabel(status)).inc();
  metrics.requestDuration.labels(call.endpoint).observe(latencyMs / 1000);
  if (usage.inputTokens > 0) metrics.tokens.labels("input").inc(usage.inputTokens);
  if (usage.outputTokens > 0) metrics.tokens.labels("output").inc(usage.outputTokens);
  if (usage.cachedTokens > 0) metrics.tokens.labels("cached").inc(usage.cachedTokens);
  if (cost > 0n) metrics.costMicros.inc(Number(cost));
}

function chargedCost(usage: UsageCounts, route: RouteTarget, log: (line: string) => void): bigint {
  try {
    return costMicros({ inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedInputTokens: usage.cachedTokens }, route.prices);
  } catch (error) {
    // A provider reporting more cached than input tokens must not lose the whole charge: bill it all as input.
    log(`[data-plane] odd usage from ${route.providerName}: ${(error as Error).message}`);
    return costMicros({ inputTokens: usage.inputTokens + usage.cachedTokens, outputTokens: usage.outputTokens }, route.prices);
  }
}

const STATUS_LABELS = new Map<number, string>();

export function statusLabel(status: number): string {
  let label = STATUS_LABELS.get(status);
  if (label === undefined) STATUS_LABELS.set(status, (label = String(status)));
  return label;
}
