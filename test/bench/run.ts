// Benchmark entry (`npm run bench`): starts the shared processes (bench-env.ts), runs every section (or BENCH_ONLY's),
// prints each section's tables and targets, and writes them to test/bench/BENCHMARKS.md.
import { Redis } from "ioredis";
import pg from "pg";
import { redisUrl } from "../support/database.ts";
import { type BenchEnv, benchFile, log, runCleanups, startBenchEnv } from "./bench-env.ts";
import { coreTicks, describeCoreUsage } from "./core-usage.ts";
import { cpuIdleDescription } from "./cpu-idle.ts";
import { hasTaskset, stopChildren } from "./processes.ts";
import { targetTable } from "./report.ts";
import { SECTIONS } from "./sections/index.ts";
import { sectionBlock, writeReport } from "./write-report.ts";

const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim()).filter(Boolean);
const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
if (unknown.length) {
  console.error(`BENCH_ONLY names unknown sections: ${unknown.join(", ")} (known: ${SECTIONS.map((s) => s.id).join(", ")})`);
  process.exit(2);
}
const chosen = only ? SECTIONS.filter((s) => only.includes(s.id)) : SECTIONS;
const settings = Object.entries(process.env)
  .filter(([k]) => k.startsWith("BENCH_"))
  .map(([k, v]) => `${k}=${v}`)
  .join(" ");
const command = `${settings ? `${settings} ` : ""}npm run bench`;

let env: BenchEnv | null = null;
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopChildren();
    await runCleanups();
    await env?.database.drop().catch((error: unknown) => log(`could not drop ${env?.database.name}: ${(error as Error).message}`));
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
  env = await startBenchEnv(Object.assign({}, ...chosen.map((s) => s.models ?? {})));
  const blocks = new Map<string, string>();
  for (const section of chosen) {
    log(`section ${section.id}: ${section.title}`);
    const before = coreTicks();
    const result = await section.run(env);
    const cores = describeCoreUsage(before, coreTicks());
    const block = sectionBlock(section, result, command, cores);
    blocks.set(section.id, block);
    console.log(`\n## ${section.title}\n\n${cores ? `Cores during this section: ${cores}.\n\n` : ""}${result.body.join("\n\n")}\n\n${result.targets.length ? targetTable(result.targets) : ""}\n`);
  }
  const pinning = hasTaskset ? "gateway-side processes on core 0; mock, load generators on core 1 (taskset); Postgres and Redis unpinned" : "none (no taskset)";
  writeReport(benchFile("BENCHMARKS.md"), SECTIONS, blocks, { ...(await serviceVersions(env.database.url)), pinning, "cpu idle": cpuIdleDescription() });
  log(`wrote ${benchFile("BENCHMARKS.md")}`);
}

main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (error: unknown) => {
    console.error(`[bench] failed: ${(error as Error).stack ?? error}`);
    await cleanup();
    process.exit(1);
  });
