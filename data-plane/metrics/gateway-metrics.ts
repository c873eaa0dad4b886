// The gateway's Prometheus metrics, on a registry of their own so several gateways can live in one process (tests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { type Counted, countedCounter } from "./counted-counter.ts";
import { CountedHistogram, type Observed } from "./counted-histogram.ts";

/** Seconds; LLM calls range from a few ms (embeddings, errors) to minutes (long streams). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds; an admission is a Redis round trip, a fraction of a millisecond when all is well. */
const ADMISSION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface GatewayMetrics {
  registry: Registry;
  // The labelled metrics of the request path count in plain numbers and reach prom-client when scraped
  // (counted-histogram.ts, counted-counter.ts); the rest are prom-client's own.
  requests: { labels(route: string, status: string): Counted };
  requestDuration: { labels(route: string): Observed };
  /** Time from sending the upstream request to its response headers, per provider. */
  upstreamDuration: { labels(provider: string): Observed };
  /**
   * How long each request waited for its admission decision (rate limits and budgets). With Redis this is the round
   * trip plus the event-loop turns around it, and it sits before the first byte, so it shows in time to first token.
   */
  admissionWait: Observed;
  tokens: { labels(direction: string): Counted };
  costMicros: Counter;
  rejections: { labels(reason: string): Counted };
  openStreams: Gauge;
  snapshotVersion: Gauge;
  /** Snapshot swaps by how they were made: a full rebuild, or change events applied to the current one. */
  snapshotUpdates: Counter<"update">;
  /** From a change event's publication by the control plane to this instance enforcing it (clocks of both hosts). */
  changeLag: Histogram;
  /** Admission decisions taken without Redis (fail_open, unavailable, settle_failed), by kind. */
  admissionDegraded: { labels(kind: string): Counted };
  /** Requests admitted from a quota lease this instance held, without a Redis round trip (admission-leases.ts). */
  leaseAdmits: Counter;
  /** For admission's onDegraded hook. */
  recordDegraded(kind: string): void;
  /** Exposes the usage writer's backlog and losses (records wait in memory while Postgres is down). */
  observeUsageWriter(writer: { buffered(): number; dropped(): number }): void;
  /** The Prometheus text exposition and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

function labelled(histogram: CountedHistogram): { labels(...values: string[]): Observed } {
  return { labels: (...values) => histogram.seriesOf(values) };
}

export function createGatewayMetrics(options: { defaultMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: "tollgate_data_plane_" });
  const registers = [registry];
  const admissionDegraded = countedCounter({
    name: "tollgate_admission_degraded_total",
    help: "Admission decisions taken without Redis, by kind (fail_open admits uncounted, unavailable refuses)",
    labelNames: ["kind"],
    registers,
  });
  return {
    registry,
    requests: countedCounter({
      name: "tollgate_requests_total",
      help: "Data-plane requests by route and response status",
      labelNames: ["route", "status"],
      registers,
    }),
    requestDuration: labelled(new CountedHistogram({
      name: "tollgate_request_duration_seconds",
      help: "Time from receiving a request to the end of its response",
      labelNames: ["route"],
      buckets: LATENCY_BUCKETS,
      registers,
    })),
    upstreamDuration: labelled(new CountedHistogram({
      name: "tollgate_upstream_response_seconds",
      help: "Time from calling a provider to its response headers",
      labelNames: ["provider"],
      buckets: LATENCY_BUCKETS,
      registers,
    })),
    admissionWait: new CountedHistogram({
      name: "tollgate_admission_wait_seconds",
      help: "Time a request waited for its admission decision (rate limits and budgets)",
      buckets: ADMISSION_BUCKETS,
      registers,
    }).series(),
    tokens: countedCounter({
      name: "tollgate_tokens_total",
      help: "Tokens charged, by direction (input, output, cached)",
      labelNames: ["direction"],
      registers,
    }),
    costMicros: new Counter({
      name: "tollgate_cost_micros_total",
      help: "Cost charged, in micro-dollars",
      registers,
    }),
    rejections: countedCounter({
      name: "tollgate_rejections_total",
      help: "Requests refused before reaching a provider, by reason",
      labelNames: ["reason"],
      registers,
    }),
    openStreams: new Gauge({
      name: "tollgate_open_streams",
      help: "Responses currently being relayed from a provider",
      registers,
    }),
    snapshotVersion: new Gauge({
      name: "tollgate_snapshot_version",
      help: "Policy version of the snapshot this instance enforces",
      registers,
    }),
    snapshotUpdates: new Counter({
      name: "tollgate_snapshot_updates_total",
      help: "Policy snapshot updates, by kind: full (rebuilt from every table) or changes (change events applied incrementally)",
      labelNames: ["update"],
      registers,
    }),
    changeLag: new Histogram({
      name: "tollgate_snapshot_change_lag_seconds",
      help: "Time from a change event's publication (its `at`, the control plane's clock) to this instance applying it",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers,
    }),
    admissionDegraded,
    leaseAdmits: new Counter({
      name: "tollgate_admission_lease_admits_total",
      help: "Requests admitted from a quota lease held by this instance, without a Redis round trip",
      registers,
    }),
    recordDegraded(kind) {
      admissionDegraded.labels(kind).inc();
    },
    observeUsageWriter(writer) {
      new Gauge({
        name: "tollgate_usage_records_buffered",
        help: "Usage records waiting to be written to Postgres",
        registers,
        collect() {
          this.set(writer.buffered());
        },
      });
      new Gauge({
        name: "tollgate_usage_records_dropped",
        help: "Usage records dropped because the buffer was full (total since start)",
        registers,
        collect() {
          this.set(writer.dropped());
        },
      });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
