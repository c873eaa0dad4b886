// What the admission Lua scripts cost inside Redis: usec_per_call of the admit and the settle script (INFO
// commandstats on a private redis-server, so no other client is counted), and the Redis commands each one runs.
// Run: npx tsx test/bench/admission-script-cost.ts   (ADMISSION_MODULE=<path to a redis-admission.ts> compares another
// version; COST_REQUESTS scales the runs). Simulated clock: the `now` argument, so a minute of traffic takes seconds.
import { pathToFileURL } from "node:url";
import type { Admission, AdmissionTicket, Bucket } from "../../data-plane/contracts.ts";
import type { createRedisAdmission as CreateRedisAdmission } from "../../data-plane/admission/redis-admission.ts";
import { startPrivateRedis } from "../support/private-redis.ts";

const REQUESTS = Number(process.env.COST_REQUESTS ?? 20_000);
const CHUNK = 500;
const modulePath = process.env.ADMISSION_MODULE ?? new URL("../../data-plane/admission/redis-admission.ts", import.meta.url).pathname;
const { createRedisAdmission } = (await import(pathToFileURL(modulePath).href)) as { createRedisAdmission: typeof CreateRedisAdmission };

/** A user and its key, each with a request limit, a token limit and a budget: the bucket pair most requests carry. */
function buckets(keyRpm: number): Bucket[] {
  return [
    { scope: "user:cost", requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgets: [{ period: "DAILY", capMicros: 10n ** 15n }] },
    { scope: "key:cost", requestsPerMinute: keyRpm, tokensPerMinute: 1_000_000_000, budgets: [{ period: "MONTHLY", capMicros: 10n ** 15n }] },
  ];
}

interface Workload {
  name: string;
  /** Simulated milliseconds between requests. */
  stepMs: number;
  keyRpm: number;
  requests: number;
}

const WORKLOADS: Workload[] = [
  { name: "steady, all admitted (333 req/s)", stepMs: 3, keyRpm: 1_000_000, requests: REQUESTS },
  { name: "10x over the key's limit (333 req/s, 2000/min)", stepMs: 3, keyRpm: 2_000, requests: REQUESTS },
  { name: "sparse (one request every 5 s)", stepMs: 5_000, keyRpm: 1_000_000, requests: Math.min(REQUESTS, 2_000) },
];

type Stats = Record<string, { calls: number; usec: number }>;

function delta(after: Stats, before: Stats): Stats {
  const out: Stats = {};
  for (const [name, value] of Object.entries(after)) {
    const base = before[name] ?? { calls: 0, usec: 0 };
    if (value.calls > base.calls) out[name] = { calls: value.calls - base.calls, usec: value.usec - base.usec };
  }
  return out;
}

function add(total: Stats, part: Stats): void {
  for (const [name, value] of Object.entries(part)) {
    const t = (total[name] ??= { calls: 0, usec: 0 });
    t.calls += value.calls;
    t.usec += value.usec;
  }
}

/** Commands the script ran per call, e.g. "hmget 2, hset 2, get 2": everything but the EVALSHA itself and INFO. */
function innerCommands(stats: Stats, calls: number): string {
  return Object.entries(stats)
    .filter(([name]) => name !== "evalsha" && name !== "eval" && name !== "info")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name} ${(value.calls / calls).toFixed(2)}`)
    .join(", ");
}

const redis = await startPrivateRedis();
const rows: string[] = [];
try {
  for (const workload of WORKLOADS) {
    const prefix = `cost:${workload.name.length}:${Date.now()}:`;
    const { Redis } = await import("ioredis");
    const connection = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    await new Promise((resolve) => connection.once("ready", resolve));
    const admission: Admission = createRedisAdmission(connection, { timeoutMs: 5_000, rateLimitFailMode: "closed", budgetFailMode: "closed", keyPrefix: prefix });
    const bucketPair = buckets(workload.keyRpm);
    let now = Date.now();
    // Warm-up: loads the script (EVAL after NOSCRIPT) so the measured calls are all EVALSHA.
    const warm = await admission.admit(bucketPair, { tokens: 1, micros: 1n }, now);
    if (warm.ok) await admission.settle(warm.ticket, { tokens: 1, micros: 1n });

    const admitStats: Stats = {};
    const settleStats: Stats = {};
    let admitted = 0;
    let clientUs = 0;
    for (let done = 0; done < workload.requests; done += CHUNK) {
      const tickets: AdmissionTicket[] = [];
      let before = await redis.commandStats();
      for (let i = 0; i < CHUNK && done + i < workload.requests; i++) {
        now += workload.stepMs;
        const started = performance.now();
        const result = await admission.admit(bucketPair, { tokens: 1_000, micros: 2_000n }, now);
        clientUs += (performance.now() - started) * 1000;
        if (result.ok) tickets.push(result.ticket);
      }
      let after = await redis.commandStats();
      add(admitStats, delta(after, before));
      admitted += tickets.length;
      before = after;
      for (const ticket of tickets) await admission.settle(ticket, { tokens: 700, micros: 1_400n });
      after = await redis.commandStats();
      add(settleStats, delta(after, before));
    }
    await admission.close();
    connection.disconnect();
    const admits = admitStats.evalsha?.calls ?? 0;
    const settles = settleStats.evalsha?.calls ?? 0;
    rows.push(
      `| ${workload.name} | ${workload.requests} | ${admitted} | ${((admitStats.evalsha?.usec ?? 0) / admits).toFixed(2)} | ` +
        `${settles ? ((settleStats.evalsha?.usec ?? 0) / settles).toFixed(2) : "-"} | ${(clientUs / workload.requests).toFixed(0)} | ` +
        `${innerCommands(admitStats, admits)} | ${settles ? innerCommands(settleStats, settles) : "-"} |`,
    );
  }
} finally {
  await redis.stop();
}

console.log(`admission module: ${modulePath}`);
console.log("| workload | admits | admitted | admit usec_per_call | settle usec_per_call | admit round trip µs (client) | commands per admit | commands per settle |");
console.log("|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
