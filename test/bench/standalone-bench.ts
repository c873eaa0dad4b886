// The frame of a standalone bench script (not a section): its own deployment (bench-env.ts), a markdown report
// printed and written to a file, and everything stopped and dropped afterwards, whatever happened.
import { writeFileSync } from "node:fs";
import { type BenchEnv, log, runCleanups, startBenchEnv } from "./bench-env.ts";
import { stopChildren } from "./processes.ts";
import type { SlugMap } from "./seed-policy.ts";

export async function runStandaloneBench(models: SlugMap, out: string, measure: (env: BenchEnv) => Promise<string>): Promise<never> {
  const env = await startBenchEnv(models);
  try {
    const report = await measure(env);
    console.log(report);
    writeFileSync(out, `${report}\n`);
    log(`wrote ${out}`);
  } finally {
    await stopChildren();
    await runCleanups();
    await env.database.drop({ scanSecrets: false });
  }
  // ioredis and undici handles of the shared helpers would keep the process up.
  process.exit(0);
}
