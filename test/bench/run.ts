// Benchmark entry (`npm run bench`): direct vs bare passthrough vs Tollgate, interleaved rounds; prints and writes BENCHMARKS.md.
//   BENCH_ROUNDS (default 3) rounds of BENCH_SECONDS (default 3) per arm and workload, each after BENCH_WARMUP_SECONDS
//   (default 0.5) of unrecorded load; BENCH_PREHEAT_SECONDS (default 2) of unrecorded c64 load per arm before all rounds.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import pg from "pg";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "../support/database.ts";
import type { LoadResult } from "./load.ts";
import { hasTaskset, runChild, startChild, stopChildren } from "./processes.ts";
import { type Arm, machine, resultTable, targets, targetTable, type WorkloadResult } from "./report.ts";
import { seedPolicy } from "./seed-policy.ts";
import { mergeRounds } from "./stats.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = process.env.BENCH_SECONDS ?? "3";
const WARMUP = process.env.BENCH_WARMUP_SECONDS ?? "0.5";
const PREHEAT = process.env.BENCH_PREHEAT_SECONDS ?? "2";
const GATEWAY_CORE = 0;
const CLIENT_CORE = 1;
const here = (file: string) => new URL(file, import.meta.url).pathname;
const log = (line: string) => console.error(`[bench] ${line}`);

/** Gateway slug -> upstream model name; the mock reads its behaviour from the latter ("ttfb-20": 20 ms before answering). */
const MODELS = { "bench-fast": "mock", "bench-ttfb-20": "mock-ttfb-20" };
const WORKLOADS = [
  { name: "no-delay mock", concurrency: 1, slug: "bench-fast" },
  { name: "no-delay mock", concurrency: 64, slug: "bench-fast" },
  { name: "20 ms mock", concurrency: 64, slug: "bench-ttfb-20" },
] as const;

let database: TestDatabase | null = null;
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopChildren();
    await database?.drop().catch((error: unknown) => log(`could not drop ${database?.name}: ${(error as Error).message}`));
  })();
  return cleaning;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping children, dropping the database`);
    void cleanup().then(() => process.exit(130));
  });
}

async function serviceVersions(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const postgres = (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  await client.end();
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  const info = await redis.info("server");
  redis.disconnect();
  return { postgres, redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown" };
}

async function main(): Promise<void> {
  if (!hasTaskset) log("taskset is not available: processes are NOT pinned to cores");
  database = await createTestDatabase();
  const secretKey = randomBytes(32);
  const mockUrl = await startChild("mock provider", here("../support/mock-provider-main.ts"), ["--port", "0"], { core: CLIENT_CORE, ready: /^(http:\/\/\S+)$/ });
  const inferenceKey = await seedPolicy(database.url, createCredentialCipher(secretKey), mockUrl, MODELS);
  const [gatewayUrl, bareUrl] = await Promise.all([
    startChild("data plane", here("../../data-plane/main.ts"), [], {
      core: GATEWAY_CORE,
      env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, TOLLGATE_SECRET_KEY: secretKey.toString("hex"), DATA_PLANE_PORT: "0", DATA_PLANE_HOST: "127.0.0.1" },
      ready: /data plane ready: (http:\/\/[^/\s]+)/,
    }),
    startChild("bare passthrough", here("bare-passthrough.ts"), ["--upstream", mockUrl], { core: GATEWAY_CORE, ready: /^(http:\/\/\S+)$/ }),
  ]);
  log(`mock ${mockUrl}, gateway ${gatewayUrl}, bare ${bareUrl}`);

  const target = (arm: Arm, slug: string) =>
    arm === "gateway"
      ? { url: gatewayUrl, model: slug, key: inferenceKey }
      : { url: arm === "bare" ? bareUrl : mockUrl, model: MODELS[slug as keyof typeof MODELS], key: "sk-bench" };
  const load = async (arm: Arm, slug: string, concurrency: number, seconds: string, warmup: string): Promise<LoadResult> => {
    const t = target(arm, slug);
    const args = ["--url", `${t.url}/v1/chat/completions`, "--model", t.model, "--key", t.key, "--concurrency", String(concurrency), "--seconds", seconds, "--warmup-seconds", warmup];
    return JSON.parse(await runChild(here("load.ts"), args, CLIENT_CORE)) as LoadResult;
  };

  // A short check per arm: every arm must answer 200 before anything is measured.
  for (const arm of ["direct", "bare", "gateway"] as const) {
    const probe = await load(arm, "bench-fast", 1, "0.2", "0");
    if (probe.errors > 0 || probe.samplesUs.length === 0) throw new Error(`${arm} arm is not answering: ${probe.firstError}`);
  }
  // Unrecorded warm-up of every arm at c64 (JIT, connection pools, Redis scripts) before the first measured round.
  for (const arm of ["direct", "bare", "gateway"] as const) await load(arm, "bench-fast", 64, PREHEAT, "0");

  const results: WorkloadResult[] = [];
  for (const w of WORKLOADS) {
    const rounds: Record<Arm, LoadResult[]> = { direct: [], bare: [], gateway: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // The arms' order rotates every round, so none always runs first or after the same neighbour.
      const order: Arm[] = ["direct", "bare", "gateway"];
      for (let i = 0; i < round % 3; i++) order.push(order.shift()!);
      for (const arm of order) {
        rounds[arm].push(await load(arm, w.slug, w.concurrency, SECONDS, WARMUP));
        log(`${w.name} c${w.concurrency} round ${round + 1}/${ROUNDS} ${arm}: ${rounds[arm].at(-1)!.samplesUs.length} requests`);
      }
    }
    results.push({ name: w.name, concurrency: w.concurrency, arms: { direct: mergeRounds(rounds.direct), bare: mergeRounds(rounds.bare), gateway: mergeRounds(rounds.gateway) } });
  }

  const errors = results.flatMap((w) =>
    (["direct", "bare", "gateway"] as const).filter((arm) => w.arms[arm].errors > 0).map((arm) => `- ${w.name} c${w.concurrency} ${arm}: ${w.arms[arm].errors} errors, first: \`${w.arms[arm].firstError}\``),
  );
  // The gateway's own view of degraded admission decisions and buffered usage records, to explain errors and outliers.
  const metrics = (await (await fetch(`${gatewayUrl}/metrics`)).text()).split("\n").filter((l) => /^tollgate_\w*(degraded|buffered|dropped)/.test(l));
  const info = machine({ ...(await serviceVersions(database.url)), pinning: hasTaskset ? `gateway and bare passthrough on core ${GATEWAY_CORE}; mock and load generator on core ${CLIENT_CORE} (taskset); Postgres and Redis unpinned` : "none (no taskset)" });
  const settings = `BENCH_ROUNDS=${ROUNDS} BENCH_SECONDS=${SECONDS} BENCH_WARMUP_SECONDS=${WARMUP} BENCH_PREHEAT_SECONDS=${PREHEAT}`;
  const table = resultTable(results);
  const goals = targetTable(targets(results));
  const notes = [...errors, ...(metrics.length ? ["- gateway metrics at the end:", ...metrics.map((l) => `  - \`${l}\``)] : [])];
  console.log(`\n${table}\n\n${goals}\n\n${notes.join("\n")}\n`);
  const markdown = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (test/bench/run.ts); not part of the pass/fail tests. All on loopback, one run, arms interleaved:",
    `every arm first gets ${PREHEAT} s of unrecorded load; then each workload runs ${ROUNDS} rounds of ${SECONDS} s per arm (after ${WARMUP} s of warm-up each), the arms' order rotating per round, and the rounds are merged.`,
    "",
    "- **direct**: the load generator calls the mock provider (test/support/mock-provider-main.ts, its own process).",
    "- **bare**: test/bench/bare-passthrough.ts, uWebSockets.js + the gateway's undici upstream client, no auth or policy.",
    "- **gateway**: Tollgate's data plane (data-plane/main.ts) with key auth, grants, Redis rate limit and budget reservation, usage records in Postgres.",
    "- Load generator: test/bench/load.ts, an undici Pool (one connection per concurrent request), closed loop, non-streamed chat completions (8 output tokens).",
    "",
    "## Results",
    "",
    table,
    "",
    ...(notes.length ? ["## Errors and gateway metrics", "", ...notes, ""] : []),
    "## Targets",
    "",
    goals,
    "",
    "## Machine",
    "",
    ...Object.entries(info).map(([k, v]) => `- ${k}: ${v}`),
    "",
    `Command: \`${settings} npm run bench\``,
    "",
  ].join("\n");
  writeFileSync(here("BENCHMARKS.md"), markdown);
  log(`wrote ${here("BENCHMARKS.md")}`);
}

main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    console.error(`[bench] failed: ${(error as Error).stack ?? error}`);
    await cleanup();
    process.exit(1);
  });
