// The request path's counting histograms and counters must scrape exactly as prom-client's own would.
import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { countedCounter } from "../../data-plane/metrics/counted-counter.ts";
import { CountedHistogram } from "../../data-plane/metrics/counted-histogram.ts";

const BUCKETS = [0.0001, 0.001, 0.005, 0.025, 0.1, 1, 10];

/** A deterministic spread of values, bounds themselves included (a value equal to a bound falls in that bucket). */
function values(n: number): number[] {
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  return Array.from({ length: n }, (_, i) => (i % 10 === 0 ? BUCKETS[i % BUCKETS.length]! : next() ** 4 * 20));
}

describe("counted metrics", () => {
  it("scrape the same text as prom-client's histogram and counter for the same observations", async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const config = { name: "t_duration_seconds", help: "a duration", labelNames: ["route", "status"], buckets: BUCKETS };
    const histogram = new Histogram({ ...config, registers: [theirs] });
    const counted = new CountedHistogram({ ...config, registers: [ours] });
    const unlabelled = new Histogram({ name: "t_wait_seconds", help: "a wait", buckets: BUCKETS, registers: [theirs] });
    const countedUnlabelled = new CountedHistogram({ name: "t_wait_seconds", help: "a wait", buckets: BUCKETS, registers: [ours] }).series();
    const counter = new Counter({ name: "t_requests_total", help: "requests", labelNames: ["route", "status"], registers: [theirs] });
    const countedCount = countedCounter({ name: "t_requests_total", help: "requests", labelNames: ["route", "status"], registers: [ours] });
    const routes = ["chat", "messages", "embeddings"];
    const statuses = ["200", "429", "502"];
    values(3000).forEach((value, i) => {
      const route = routes[i % 3]!;
      const status = statuses[(i >> 2) % 3]!;
      histogram.labels(route, status).observe(value);
      counted.series(route, status).observe(value);
      unlabelled.observe(value / 100);
      countedUnlabelled.observe(value / 100);
      counter.labels(route, status).inc(i % 4);
      countedCount.labels(route, status).inc(i % 4);
    });
    const expected = await theirs.metrics();
    expect(expected).toContain('t_duration_seconds_bucket{le="0.005",route="messages",status="429"}');
    expect(await ours.metrics()).toBe(expected);
    // Increments between scrapes are added to what prom-client already holds, not counted twice.
    counter.labels("chat", "200").inc(5);
    countedCount.labels("chat", "200").inc(5);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it("forgets everything on the registry's resetMetrics(), like prom-client's", async () => {
    const registry = new Registry();
    const counted = new CountedHistogram({ name: "t_reset_seconds", help: "h", labelNames: ["route"], buckets: BUCKETS, registers: [registry] });
    counted.series("chat").observe(0.5);
    expect(await registry.metrics()).toContain('t_reset_seconds_count{route="chat"} 1');
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain("t_reset_seconds_count");
    counted.series("chat").observe(0.5);
    expect(await registry.metrics()).toContain('t_reset_seconds_count{route="chat"} 1');
  });

  it("refuses what prom-client refuses, when it is asked: a counter going down, the wrong number of label values", () => {
    const counter = countedCounter({ name: "t_refused_total", help: "c", labelNames: ["route"], registers: [] });
    expect(() => counter.labels("chat").inc(-1)).toThrow(TypeError);
    expect(() => counter.labels("chat").inc(Number.NaN)).toThrow(TypeError);
    expect(() => counter.labels("chat", "200")).toThrow(/expected 1 label values/);
    const histogram = new CountedHistogram({ name: "t_refused_seconds", help: "h", labelNames: ["route"], buckets: BUCKETS, registers: [] });
    expect(() => histogram.series()).toThrow(/expected 1 label values/);
  });
});
