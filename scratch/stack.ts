import { writeFileSync } from "node:fs";
import { startBenchEnv } from "../test/bench/bench-env.ts";
import { stopChildren } from "../test/bench/processes.ts";
const env = await startBenchEnv({ "bench-fast": "mock", "bench-ttfb-20": "mock-ttfb-20" });
writeFileSync("/tmp/stack.json", JSON.stringify({ mock: env.mockUrl, gw: env.gatewayUrl, bare: env.bareUrl, key: env.inferenceKey, pids: env.pids, db: env.database.name }));
console.error("READY");
const stop = async () => { await stopChildren(); await env.database.drop(); process.exit(0); };
process.on("SIGINT", stop); process.on("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
