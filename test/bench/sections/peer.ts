// Item 4 of the benchmark issue: the latency section's workloads through the Portkey open-source gateway, interleaved
// with direct-to-mock and Tollgate in the same run; Portkey is installed from npm at bench time (test/bench/portkey.ts).
import { CLIENT_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import { CpuShare, percent } from "../cpu-share.ts";
import { ms, ratio, signedUs, us } from "../format.ts";
import type { LoadResult } from "../load.ts";
import { installPortkey, type PortkeyInstall, portkeyHeaders, startPortkey } from "../portkey.ts";
import { runChild } from "../processes.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import { type ArmStats, mergeRounds } from "../stats.ts";
import { runPeerStreams, STREAM_MODELS } from "./peer-streams.ts";
import { interleavedRounds } from "../interleaved-rounds.ts";

const VERSION = process.env.BENCH_PEER_VERSION ?? "1.15.2";
const HONO_NODE_SERVER = process.env.BENCH_PEER_HONO_NODE_SERVER ?? "1.13.5";
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 2);
const SECONDS = process.env.BENCH_PEER_SECONDS ?? "2";
const WARMUP = process.env.BENCH_PEER_WARMUP_SECONDS ?? "0.5";
const PREHEAT = process.env.BENCH_PEER_PREHEAT_SECONDS ?? "2";
/** Tollgate's RPS ÷ Portkey's on the no-delay mock at c64 (where throughput, not the mock's delay, is the limit). */
const TARGET_RATIO = 10;
const RPS_TARGET = `no-delay mock, c64: Tollgate RPS ÷ Portkey RPS ≥ ${TARGET_RATIO}× (the peer's throughput in the same run)`;

type Arm = "direct" | "gateway" | "portkey";
const ARMS: readonly Arm[] = ["direct", "gateway", "portkey"];
const LABEL: Record<Arm, string> = { direct: "direct", gateway: "Tollgate", portkey: "Portkey" };
interface WorkloadResult {
  name: string;
  concurrency: number;
  arms: Record<Arm, ArmStats>;
  cpuShare: Record<Exclude<Arm, "direct">, number>;
}

const MODELS = { "peer-fast": "mock", "peer-ttfb-20": "mock-ttfb-20", ...STREAM_MODELS };
/** BENCH_PEER_STREAMS=0 leaves the streaming workloads out. */
const STREAMS = process.env.BENCH_PEER_STREAMS !== "0";
const WORKLOADS = [
  { name: "no-delay mock", concurrency: 1, slug: "peer-fast" },
  { name: "no-delay mock", concurrency: 64, slug: "peer-fast" },
  { name: "20 ms mock", concurrency: 64, slug: "peer-ttfb-20" },
] as const;

async function run(env: BenchEnv): Promise<SectionResult> {
  let install: PortkeyInstall;
  let portkeyUrl: string;
  let portkeyPid: number;
  try {
    install = await installPortkey(VERSION, HONO_NODE_SERVER);
    env.log(`portkey ${install.version} in ${install.dir}${install.cached ? " (cached)" : ` (installed in ${ms(install.installMs)})`}`);
    ({ url: portkeyUrl, pid: portkeyPid } = await startPortkey(install));
    env.log(`portkey ${portkeyUrl}`);
  } catch (error) {
    const message = (error as Error).message.split("\n").slice(0, 5).join(" ");
    return {
      body: [`Portkey (\`@portkey-ai/gateway@${VERSION}\`) could not be installed or started, so nothing was measured: \`${message}\``],
      targets: [{ label: RPS_TARGET, value: "not measured", pass: false }],
    };
  }

  const load = async (arm: Arm, slug: string, concurrency: number, seconds: string, warmup: string): Promise<LoadResult> => {
    const url = arm === "gateway" ? env.gatewayUrl : arm === "portkey" ? portkeyUrl : env.mockUrl;
    const model = arm === "gateway" ? slug : env.models[slug]!;
    const key = arm === "gateway" ? env.inferenceKey : "sk-bench";
    const headers = arm === "portkey" ? portkeyHeaders(env.mockUrl).flatMap((h) => ["--header", h]) : [];
    const args = ["--url", `${url}/v1/chat/completions`, "--model", model, "--key", key, "--concurrency", String(concurrency), "--seconds", seconds, "--warmup-seconds", warmup, ...headers];
    try {
      return JSON.parse(await runChild(benchFile("load.ts"), args, CLIENT_CORE)) as LoadResult;
    } catch (error) {
      // A load generator that dies is one error of its arm, not the end of the section.
      return { samplesUs: [], errors: 1, firstError: `load generator failed: ${(error as Error).message.slice(0, 300)}`, windowMs: Number(seconds) * 1000, cores: [], cpuSeconds: {} };
    }
  };

  // Our own arms must answer before anything is measured; the peer's failures are measured and reported instead.
  const notes: string[] = [];
  for (const arm of ARMS) {
    const probe = await load(arm, "peer-fast", 1, "0.2", "0");
    if (probe.errors > 0 || probe.samplesUs.length === 0) {
      if (arm !== "portkey") throw new Error(`${arm} arm is not answering: ${probe.firstError}`);
      notes.push(`Portkey failed its first check (c1, 0.2 s): ${probe.errors} errors, first: \`${probe.firstError}\`.`);
    }
  }
  for (const arm of ARMS) await load(arm, "peer-fast", 64, PREHEAT, "0");

  const results: WorkloadResult[] = [];
  for (const w of WORKLOADS) {
    const cpu = { gateway: new CpuShare(env.pids.gateway), portkey: new CpuShare(portkeyPid) };
    const rounds = await interleavedRounds(ARMS, ROUNDS, async (arm, round) => {
      const run = () => load(arm, w.slug, w.concurrency, SECONDS, WARMUP);
      const last = await (arm === "direct" ? run() : cpu[arm].during(run));
      env.log(`peer: ${w.name} c${w.concurrency} round ${round + 1}/${ROUNDS} ${arm}: ${last.samplesUs.length} requests, ${last.errors} errors`);
      return last;
    });
    const arms = { direct: mergeRounds(rounds.direct), gateway: mergeRounds(rounds.gateway), portkey: mergeRounds(rounds.portkey) };
    results.push({ name: w.name, concurrency: w.concurrency, arms, cpuShare: { gateway: cpu.gateway.share, portkey: cpu.portkey.share } });
  }

  const errors = results.flatMap((w) =>
    ARMS.filter((arm) => w.arms[arm].errors > 0).map((arm) => `- ${w.name} c${w.concurrency} ${LABEL[arm]}: ${w.arms[arm].errors} errors, first: \`${w.arms[arm].firstError}\``),
  );
  const streams = STREAMS ? await runPeerStreams(env, { url: portkeyUrl, pid: portkeyPid, headers: portkeyHeaders(env.mockUrl) }) : null;
  if (!isRunning(portkeyPid)) notes.push("**The Portkey process was no longer running at the end of the section** (requests to it from then on are counted as errors below).");
  return {
    body: [
      [
        `Peer: Portkey's open-source gateway, \`@portkey-ai/gateway@${install.version}\` from the npm registry, installed at bench time into ${install.dir} (never a dependency of ours), on @hono/node-server ${install.honoNodeServer}${HONO_NODE_SERVER ? " (pinned through npm overrides: with npm's default resolution, 1.19.x, every streamed completion of Portkey 1.15.2 fails with `TypeError: immutable`, Portkey issue #1389)" : ""}.`,
        `It runs as its package's bin, \`build/start-server.js --port=N --headless\`, one Node process pinned to the gateway core like ours, and reaches the mock as an OpenAI provider with a custom host (headers \`x-portkey-provider: openai\`, \`x-portkey-custom-host: <mock>/v1\`; the Authorization header is forwarded as the provider key).`,
        "**Not like for like**: Portkey here does no key authentication, no rate limiting, no budgets and writes no usage records (it only routes, transforms and keeps its in-process request log); Tollgate runs with everything on (key auth, grants, Redis rate limit and budget reservation, usage records in Postgres).",
        `**Non-streamed.** Every arm first gets ${PREHEAT} s of unrecorded c64 load; then each workload runs ${ROUNDS} rounds of ${SECONDS} s per arm (after ${WARMUP} s of warm-up each), the arms' order rotating per round, rounds merged. Load generator: test/bench/load.ts (undici Pool, closed loop, non-streamed chat completions, 8 output tokens), on the other core. **relay CPU**: the relay process's CPU time during its runs ÷ their wall time, client start included (100 % = its whole core).`,
        ...notes,
      ].join("\n"),
      resultTable(results),
      peerTable(results),
      ...(errors.length ? [errors.join("\n")] : []),
      ...(streams ? streams.body : ["Streaming through Portkey: not run (BENCH_PEER_STREAMS=0)."]),
    ],
    targets: [...targets(results), ...(streams?.targets ?? [])],
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function resultTable(results: WorkloadResult[]): string {
  const rows = [
    "| workload | arm | conc. | requests | errors | p50 | p99 | RPS | p50 − direct | p99 − direct | RPS ÷ direct | relay CPU |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of results) {
    const direct = w.arms.direct;
    for (const arm of ARMS) {
      const s = w.arms[arm];
      const vs = arm === "direct" ? ["", "", ""] : [signedUs(s.p50Us - direct.p50Us), signedUs(s.p99Us - direct.p99Us), ratio(s.rps / direct.rps)];
      rows.push(`| ${w.name} | ${LABEL[arm]} | ${w.concurrency} | ${s.requests} | ${s.errors} | ${us(s.p50Us)} | ${us(s.p99Us)} | ${Math.round(s.rps)} | ${vs.join(" | ")} | ${arm === "direct" ? "" : percent(w.cpuShare[arm])} |`);
    }
  }
  return rows.join("\n");
}

const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a");

function peerTable(results: WorkloadResult[]): string {
  const rows = ["| workload | conc. | Tollgate RPS ÷ Portkey RPS | Tollgate added p99 | Portkey added p99 |", "|---|---:|---:|---:|---:|"];
  for (const { name, concurrency, arms } of results) {
    const added = (arm: Arm) => signedUs(arms[arm].p99Us - arms.direct.p99Us);
    rows.push(`| ${name} | ${concurrency} | ${times(arms.gateway.rps / arms.portkey.rps)} | ${added("gateway")} | ${added("portkey")} |`);
  }
  return rows.join("\n");
}

function targets(results: WorkloadResult[]): Target[] {
  const fast = results.find((w) => w.name === "no-delay mock" && w.concurrency === 64)!.arms;
  const label = RPS_TARGET;
  // A peer that answered nothing gives no throughput to compare with: reported, never counted as a pass.
  if (fast.portkey.requests === 0) return [{ label, value: `not comparable: Portkey answered 0 requests (${fast.portkey.errors} errors)`, pass: false }];
  const n = fast.gateway.rps / fast.portkey.rps;
  return [{ label, value: times(n), pass: n >= TARGET_RATIO }];
}

export const peerSection: BenchSection = { id: "peer", title: "Peer: Portkey gateway, same workloads, same run", models: MODELS, run };
