// Paced streams through the gateway with Redis admission, the same gateway with in-process admission (REDIS_URL unset)
// and the bare passthrough, in rotating rounds of one run (not a bench section): how much of the gateway's added time
// to first token is the admission round trip. Each gateway's tollgate_admission_wait_seconds is read around the rounds.
//   npx tsx test/bench/stream-admission-ab.ts [--streams 100] [--rounds 3] [--seconds 5] [--ramp-seconds 1.28] [--out FILE]
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchFile, CLIENT_CORE, log, startDataPlaneChild } from "./bench-env.ts";
import { ms } from "./format.ts";
import { interleavedRounds } from "./interleaved-rounds.ts";
import { bucketsBetween, histogramBuckets } from "./metric-histogram.ts";
import { runChild } from "./processes.ts";
import { runStandaloneBench } from "./standalone-bench.ts";
import { summarize } from "./stats.ts";
import type { StreamLoadResult } from "./stream-load.ts";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    // The streaming section's ramp for paced streams: without it all streams start (and end) together, in waves.
    "ramp-seconds": { type: "string", default: "1.28" },
    out: { type: "string", default: join(tmpdir(), "stream-admission-ab.md") },
  },
});
const SLUG = "bench-stream-64x20";
const UPSTREAM = "mock-chunks-64-delay-20-stable";
const ARMS = ["Redis admission", "in-process admission", "bare"] as const;
type Arm = (typeof ARMS)[number];

await runStandaloneBench({ [SLUG]: UPSTREAM }, values.out, async (env) => {
  const inProcessUrl = await startDataPlaneChild("in-process admission", { ...env.dataPlaneEnv, REDIS_URL: "" });
  const urls: Record<Arm, string> = { "Redis admission": env.gatewayUrl, "in-process admission": inProcessUrl, bare: env.bareUrl };
  const waitsBefore = await Promise.all([admissionWaits(env.gatewayUrl), admissionWaits(inProcessUrl)]);
  const byArm = await interleavedRounds(ARMS, Number(values.rounds), async (arm, round) => {
    const gateway = arm !== "bare";
    const args = ["--url", `${urls[arm]}/v1/chat/completions`, "--model", gateway ? SLUG : UPSTREAM, "--key", gateway ? env.inferenceKey : "sk-bench"];
    args.push("--streams", values.streams, "--seconds", values.seconds, "--warmup-seconds", "1.5", "--include-usage", "--ramp-seconds", values["ramp-seconds"]);
    const result = JSON.parse(await runChild(benchFile("stream-load.ts"), args, CLIENT_CORE)) as StreamLoadResult;
    log(`round ${round + 1} ${arm}: ${result.completed}/${result.streams} streams, ${result.stalls} stalls`);
    return result;
  });
  const waitsAfter = await Promise.all([admissionWaits(env.gatewayUrl), admissionWaits(inProcessUrl)]);
  const waits: Record<Arm, string> = {
    "Redis admission": waitShares(waitsBefore[0]!, waitsAfter[0]!),
    "in-process admission": waitShares(waitsBefore[1]!, waitsAfter[1]!),
    bare: "",
  };
  const rows = ARMS.map((arm) => {
    const rounds = byArm[arm];
    const ttft = summarize(rounds.flatMap((r) => r.ttftUs));
    const headers = summarize(rounds.flatMap((r) => r.headersUs));
    const gaps = summarize(rounds.flatMap((r) => r.gapUs));
    const stalls = rounds.reduce((sum, r) => sum + r.stalls, 0);
    const cells = [ttft.p50, ttft.p99, headers.p50, headers.p99, gaps.p99].map((us) => ms(us / 1000));
    return `| ${arm} | ${ttft.n} | ${cells.join(" | ")} | ${stalls} | ${waits[arm]} |`;
  });
  return [
    `# Paced streams: Redis vs in-process admission, ${new Date().toISOString()}`,
    "",
    `${values.streams} streams of 64 chunks every 20 ms, ramped over ${values["ramp-seconds"]} s, ${values.rounds} rounds of ${values.seconds} s per arm, order rotating.`,
    "",
    "| arm | streams | TTFT p50 | TTFT p99 | headers p50 | headers p99 | chunk gap p99 | stalls | admission waits (tollgate_admission_wait_seconds) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows,
  ].join("\n");
});

/** The cumulative buckets of a gateway's tollgate_admission_wait_seconds: [upper bound in seconds, count]. */
async function admissionWaits(url: string): Promise<Array<[number, number]>> {
  return histogramBuckets(await (await fetch(`${url}/metrics`)).text(), "tollgate_admission_wait_seconds");
}

/** The share of the waits between two readings that ended within 0.25 ms, 1 ms and 5 ms. */
function waitShares(before: Array<[number, number]>, after: Array<[number, number]>): string {
  const counts = bucketsBetween(before, after);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return "none";
  const within = (le: number) => `${((100 * (counts.find(([bound]) => bound === le)?.[1] ?? 0)) / total).toFixed(1)} % ≤ ${ms(le * 1000)}`;
  return `${total}: ${[0.00025, 0.001, 0.005].map(within).join(", ")}`;
}
