// The end of every admitted request, whatever happened: settle the reservation once, record usage, count metrics.
import type { AdmissionTicket, EndpointKind, KeyEntry, RouteTarget, UsageCounts, UsageRecordInput } from "../contracts.ts";
import { costMicros } from "../../shared/money.ts";
import type { GatewayDeps } from "./gateway-deps.ts";

export interface UsageSink {
  add(record: UsageRecordInput): void;
}

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
  ticket: AdmissionTicket | null;
  /** The route that answered last (its prices apply), null when none was reached. */
  route: RouteTarget | null;
  ttfbMs: number | null;
}

const NO_USAGE: UsageCounts = { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };

/**
 * Charged cost uses the answering route's prices. Usage counts come from the provider's own report (the scanner), so
 * an aborted stream is charged for what the provider reported before the cut (often only input tokens, or nothing).
 * Settling cannot fail the request any more: an error there is logged and the counters heal at the next window.
 */
export function finishCall(deps: FinishDeps, call: CallRecord, status: number, counts: UsageCounts | null): void {
  const usage = counts ?? NO_USAGE;
  const latencyMs = performance.now() - call.startedAt;
  const cost = call.route === null ? 0n : chargedCost(usage, call.route, deps.log);
  const ticket = call.ticket;
  if (ticket !== null) {
    call.ticket = null;
    deps.admission
      .settle(ticket, { tokens: usage.inputTokens + usage.outputTokens, micros: cost })
      .catch((error: unknown) => deps.log(`[data-plane] settling ${call.requestId} failed: ${(error as Error).message}`));
  }
  const principal = call.key.principal;
  deps.usage.add({
    requestId: call.requestId,
    userId: principal.kind === "user" ? principal.id : null,
    virtualAccountId: principal.kind === "virtualAccount" ? principal.id : null,
    apiKeyId: call.key.keyId,
    modelSlug: call.slug,
    providerModelId: call.route === null ? null : call.route.providerModelId,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedTokens: usage.cachedTokens,
    costMicros: cost,
    status,
    latencyMs: Math.round(latencyMs),
    ttfbMs: call.ttfbMs === null ? null : Math.round(call.ttfbMs),
    createdAt: call.createdAt,
  });
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
