// A prom-client counter whose increments add to plain numbers and reach prom-client when /metrics is scraped.
import { Counter, type CounterConfiguration, type LabelValues } from "prom-client";
import { labelledSeries } from "./labelled-series.ts";

export interface Counted {
  inc(value?: number): void;
}

class PendingCount implements Counted {
  pending = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(value = 1): void {
    // What prom-client's inc() refuses, refused where the caller can see it rather than at the next scrape.
    if (!(value >= 0) || value === Number.POSITIVE_INFINITY) throw new TypeError(`a counter only goes up by a finite amount, got ${value}`);
    this.pending += value;
  }
}

/**
 * prom-client's inc() with labels converts, validates and hashes the label values on every call (see
 * counted-histogram.ts for what that cost the data plane). Here inc() adds to a number; the counter's collect(), which
 * prom-client runs on every scrape, hands what has accrued to prom-client's own inc(), once per series.
 */
export function countedCounter<T extends string>(config: CounterConfiguration<T>): { labels(...values: string[]): Counted } {
  const all = labelledSeries(config.labelNames ?? [], (labels) => new PendingCount(labels));
  new Counter<T>({
    ...config,
    collect() {
      for (const count of all.values()) {
        if (count.pending === 0) continue;
        this.inc(count.labels as LabelValues<T>, count.pending);
        count.pending = 0;
      }
    },
  });
  return { labels: (...values) => all.get(values) };
}
