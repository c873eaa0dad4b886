// Same-run A/B of two data planes (not a bench section): two code versions, or one version under two sets of node
// flags, both on the gateway core, loaded in turn from the client core in rotating rounds, so the host's drift (which
// on these VMs moves absolute figures by 30 % or more within minutes) lands on both arms alike.
//   npx tsx test/bench/gateway-ab.ts [--b-checkout DIR] [--a-node-args="…"] [--b-node-args="…"] [--b-env NAME=VALUE …]
//                                    [--rounds 6] [--seconds 3] [--only "20 ms"] [--out FILE]
// A is this checkout. B is DIR's data plane (a git worktree of another commit, installed: `npm ci` there, or a
// node_modules symlink plus `npm run generate`), else this checkout again. Both join one deployment: one database,
// one Redis, one mock, one policy, unless --b-env points B elsewhere (e.g. REDIS_URL at a redis-server pinned to
// another core, to see what the placement of a dependency costs). Prints a markdown table and writes it to --out (default: gateway-ab.md in the
// system's temporary folder).
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchFile, CLIENT_CORE, GATEWAY_CORE, log } from "./bench-env.ts";
import { ratio, us } from "./format.ts";
import { interleavedRounds } from "./interleaved-rounds.ts";
import type { LoadResult } from "./load.ts";
import { pidsNamed } from "./proc-stats.ts";
import { runChild, startChild } from "./processes.ts";
import { runStandaloneBench } from "./standalone-bench.ts";
import { type ArmStats, mergeRounds } from "./stats.ts";

const { values } = parseArgs({
  options: {
    "b-checkout": { type: "string" },
    "a-node-args": { type: "string", default: "" },
    "b-node-args": { type: "string", default: "" },
    "b-env": { type: "string", multiple: true, default: [] },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    // Runs only the workloads whose label ("no-delay mock, c64", "20 ms mock, c64") contains this text.
    only: { type: "string", default: "" },
    out: { type: "string", default: join(tmpdir(), "gateway-ab.md") },
  },
});
const words = (flags: string) => flags.split(" ").filter((word) => word !== "");
const bCheckout = values["b-checkout"] === undefined ? null : resolve(values["b-checkout"]);
const rounds = Number(values.rounds);
const bEnv = Object.fromEntries(
  values["b-env"].map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--b-env takes NAME=VALUE, got "${pair}"`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

/** The latency section's workloads (sections/latency.ts): the mock reads its behaviour from the upstream model name. */
const MODELS = { "bench-fast": "mock", "bench-ttfb-20": "mock-ttfb-20" };
const WORKLOADS = [
  { name: "no-delay mock", concurrency: 1, slug: "bench-fast" },
  { name: "no-delay mock", concurrency: 64, slug: "bench-fast" },
  { name: "20 ms mock", concurrency: 64, slug: "bench-ttfb-20" },
];
const ARMS = ["A", "B"] as const;
type Arm = (typeof ARMS)[number];

await runStandaloneBench(MODELS, values.out, async (env) => {
  // startBenchEnv's own gateway has no flags; A gets one of its own so that --a-node-args apply.
  const pids: Record<Arm, number> = { A: 0, B: 0 };
  const dataPlane = (arm: Arm, dir: string, nodeArgs: string[]) =>
    startChild(`data plane ${arm}`, join(dir, "data-plane/main.ts"), [], {
      core: GATEWAY_CORE,
      env: arm === "B" ? { ...env.dataPlaneEnv, ...bEnv } : env.dataPlaneEnv,
      nodeArgs,
      onPid: (pid) => (pids[arm] = pid),
      ready: /data plane ready: (http:\/\/[^/\s]+)/,
    });
  const urls: Record<Arm, string> = {
    A: await dataPlane("A", benchFile("../.."), words(values["a-node-args"])),
    B: await dataPlane("B", bCheckout ?? benchFile("../.."), words(values["b-node-args"])),
  };
  const load = async (arm: Arm, slug: string, concurrency: number, seconds: string, warmup: string): Promise<LoadResult> => {
    const args = ["--url", `${urls[arm]}/v1/chat/completions`, "--model", slug, "--key", env.inferenceKey, "--concurrency", String(concurrency)];
    args.push("--seconds", seconds, "--warmup-seconds", warmup, "--cpu", `relay=${pids[arm]}`);
    args.push("--cpu", `redis=${pidsNamed("redis-server").join(",")}`, "--cpu", `postgres=${pidsNamed("postgres").join(",")}`);
    return JSON.parse(await runChild(benchFile("load.ts"), args, CLIENT_CORE)) as LoadResult;
  };
  // Unrecorded warm-up (JIT, pools, scripts), then every workload's rounds.
  for (const arm of ARMS) await load(arm, "bench-fast", 64, "2", "0");
  const rows: string[] = [];
  for (const w of WORKLOADS.filter((w) => `${w.name}, c${w.concurrency}`.includes(values.only))) {
    const byArm = await interleavedRounds(ARMS, rounds, async (arm, round) => {
      const result = await load(arm, w.slug, w.concurrency, values.seconds, "0.5");
      log(`${w.name} c${w.concurrency} round ${round + 1}/${rounds} ${arm}: ${result.samplesUs.length} requests`);
      return result;
    });
    const stats = { A: mergeRounds(byArm.A), B: mergeRounds(byArm.B) };
    for (const arm of ARMS) rows.push(row(`${w.name}, c${w.concurrency}`, arm, stats[arm], byArm[arm], stats.A));
  }
  return [
    `# Gateway A/B, ${new Date().toISOString()}`,
    "",
    `- A: this checkout${values["a-node-args"] ? `, node ${values["a-node-args"]}` : ""}`,
    `- B: ${bCheckout ?? "this checkout"}${values["b-node-args"] ? `, node ${values["b-node-args"]}` : ""}${values["b-env"].length ? `, ${values["b-env"].join(" ")}` : ""}`,
    `- ${rounds} rounds of ${values.seconds} s per arm and workload, the arms' order rotating; relay CPU per request in each round shows how much the host moved`,
    "",
    "| workload | arm | requests | errors | p50 | p99 | RPS | RPS ÷ A | relay CPU / request | per round | redis CPU / request | postgres CPU / request |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ...rows,
  ].join("\n");
});

function row(workload: string, arm: Arm, stats: ArmStats, perRound: LoadResult[], a: ArmStats): string {
  const rounds = perRound.map((r) => Math.round(((r.cpuSeconds.relay ?? Number.NaN) * 1e6) / Math.max(1, r.samplesUs.length))).join(", ");
  const cpu = (name: string) => us(stats.cpuUsPerRequest[name] ?? Number.NaN);
  return `| ${workload} | ${arm} | ${stats.requests} | ${stats.errors} | ${us(stats.p50Us)} | ${us(stats.p99Us)} | ${Math.round(stats.rps)} | ${ratio(stats.rps / a.rps)} | ${cpu("relay")} | ${rounds} | ${cpu("redis")} | ${cpu("postgres")} |`;
}
