// Fuzz of the data plane over real TCP: ≥ 10,000 generated malformed requests against a data-plane process on real
// Postgres, Redis and the mock provider. It must never crash or answer 5xx, refuse only with the README's error table
// (`error` + `message`), relay the provider's own answer when a request was admitted, and keep its memory bounded.
// TOLLGATE_LONG_TESTS=1 sends 100,000; TOLLGATE_FUZZ_SEED=<n> replays a run (the seed is printed on failure).
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type FuzzCase, fuzzCases, judge } from "./fuzz/malformed-requests.ts";
import { type FuzzTarget, startFuzzTarget } from "./fuzz/fuzz-target.ts";
import { type RawOutcome, sendRaw } from "./fuzz/raw-http.ts";
import { until } from "../support/poll.ts";

const LONG = process.env.TOLLGATE_LONG_TESTS === "1";
const CASES = LONG ? 100_000 : 10_000;
const CONCURRENCY = 32;
const HEALTH_EVERY = 500;
const SEED = Number(process.env.TOLLGATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Generous: the point is "bounded", not a figure (memory is measured by the benchmarks). */
const MAX_RSS_GROWTH_BYTES = 200 * 1024 * 1024;

let target: FuzzTarget;
beforeAll(async () => {
  target = await startFuzzTarget();
}, 120_000);
afterAll(async () => {
  await target?.close();
});

async function inPool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

async function healthy(): Promise<boolean> {
  const outcome = await sendRaw(target.port, { parts: [Buffer.from("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")], timeoutMs: 15_000 });
  return outcome.kind === "response" && outcome.status === 200;
}

it(`answers ${CASES} malformed requests with documented 4xx only, never crashes and keeps its memory bounded`, async () => {
  const cases = fc.sample(fuzzCases(target.keys, target.slugs), { numRuns: CASES, seed: SEED });
  const failures: string[] = [];
  const tally = new Map<string, Map<string, number>>();
  const inFlight = new Set<FuzzCase>();
  const elapsed = new Map<string, number>();
  let crash: string | null = null;
  const send = async (c: FuzzCase) => {
    inFlight.add(c);
    const startedAt = performance.now();
    const outcome: RawOutcome = await sendRaw(target.port, c.send);
    elapsed.set(c.category, (elapsed.get(c.category) ?? 0) + performance.now() - startedAt);
    inFlight.delete(c);
    if (crash === null && target.exited() !== null) crash = `${target.exited()} with in flight: ${[...inFlight, c].map((f) => `${f.category}: ${f.label}`).join(" | ")}`;
    const why = judge(c, outcome);
    if (why !== null) failures.push(`${c.category}: ${c.label} → ${why}`);
    const seen = tally.get(c.category) ?? new Map<string, number>();
    const key = outcome.kind === "response" ? String(outcome.status) : outcome.kind;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    tally.set(c.category, seen);
  };

  // Warm up (JIT, pools, the snapshot) before the memory baseline.
  await inPool(cases.filter((c) => c.category === "valid").slice(0, 100), 8, async (c) => void (await sendRaw(target.port, c.send)));
  const rssBefore = target.rssBytes();
  // One pool over all cases; every HEALTH_EVERY cases one worker also checks that the process still answers.
  let done = 0;
  await inPool(cases, CONCURRENCY, async (c) => {
    if (crash !== null) return;
    await send(c);
    if (++done % HEALTH_EVERY === 0 && crash === null && !(await healthy())) crash = `/healthz stopped answering after ${done} cases`;
  });
  if (crash === null && !(await healthy())) crash = "/healthz stopped answering at the end";
  const rssAfter = target.rssBytes();

  const summary = [...tally].map(([category, seen]) => `${category}: ${[...seen].map(([k, n]) => `${k}×${n}`).join(" ")} (${((elapsed.get(category) ?? 0) / 1000).toFixed(1)} s)`).join("\n  ");
  console.log(`data-plane fuzz, seed ${SEED}: ${CASES} cases, RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MB\n  ${summary}`);
  const upstreamTrouble = target.logs.lines.filter((line) => /failed|unusable|could not/.test(line));
  if (upstreamTrouble.length > 0) console.log(`data-plane log (${upstreamTrouble.length} failures):\n  ${upstreamTrouble.slice(0, 20).join("\n  ")}`);
  expect(crash, `seed ${SEED}`).toBeNull();
  expect(distinct(failures).slice(0, 40), `seed ${SEED}: ${failures.length} failures`).toEqual([]);
  expect(rssAfter - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES);
  // Still serving real traffic afterwards.
  const after = await sendRaw(target.port, cases.find((c) => c.category === "valid")!.send);
  expect(after.kind === "response" && after.status).toBe(200);
  // Every usage record of the run reached Postgres: none refused by it, none still waiting behind one that was.
  await until(async () => (await usageWriter()).buffered === 0, "the usage writer has written everything", 20_000);
  expect(await usageWriter()).toEqual({ buffered: 0, dropped: 0 });
  expect(target.logs.lines.filter((line) => line.includes("usage"))).toEqual([]);
}, LONG ? 3_600_000 : 240_000);

/** The data plane's usage writer gauges, from its /metrics. */
async function usageWriter(): Promise<{ buffered: number; dropped: number }> {
  const text = await (await fetch(`http://127.0.0.1:${target.port}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return { buffered: gauge("tollgate_usage_records_buffered"), dropped: gauge("tollgate_usage_records_dropped") };
}

/** One failure per category and reason, so a single bug does not hide the others. */
function distinct(failures: string[]): string[] {
  const seen = new Map<string, string>();
  for (const f of failures) {
    const reason = f.replace(/ → (.{0,40}).*$/, " → $1").replace(/^([^:]+):.* → /, "$1 → ");
    if (!seen.has(reason)) seen.set(reason, f);
  }
  return [...seen.values()];
}
