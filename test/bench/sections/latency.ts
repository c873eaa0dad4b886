// Items 1–2 of the benchmark issue: added latency (no-delay mock, c1 and c64, and open loop at a fixed rate) and
// throughput (20 ms mock c64; no-delay c64 against the bare passthrough), three arms interleaved in rounds, each arm's
// load from its own process.
//   BENCH_ROUNDS (3) rounds of BENCH_SECONDS (3) per arm and workload, each after BENCH_WARMUP_SECONDS (0.5) of
//   unrecorded load; BENCH_PREHEAT_SECONDS (2) of unrecorded c64 load per arm before all rounds.
import { CLIENT_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import type { LoadResult } from "../load.ts";
import { runChild, startStoppableChild } from "../processes.ts";
import { pidsNamed } from "../proc-stats.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import { type ArmStats, mergeRounds, requestsPerSecond } from "../stats.ts";
import { ratio, signedUs, us } from "../format.ts";
import { interleavedRounds } from "../interleaved-rounds.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = process.env.BENCH_SECONDS ?? "3";
const WARMUP = process.env.BENCH_WARMUP_SECONDS ?? "0.5";
const PREHEAT = process.env.BENCH_PREHEAT_SECONDS ?? "2";
/** Arrivals per second of the open-loop workload: about a quarter of what the gateway serves at c64 on two cores. */
const OPEN_LOOP_RATE = Number(process.env.BENCH_OPEN_LOOP_RATE ?? 1000);

type Arm = "direct" | "bare" | "gateway" | "bare, core 1";
const ARMS: readonly Arm[] = ["direct", "bare", "gateway"];
/**
 * At concurrency 1 also the bare passthrough pinned to the mock's and load generator's core: its difference to the
 * bare arm is what crossing to another core costs per request on this machine (the idle core is woken twice per
 * request), a cost the gateway arm pays too and no gateway code can remove.
 */
const C1_ARMS: readonly Arm[] = [...ARMS, "bare, core 1"];
/** The one-line, closed-loop c1 workload: the c1 targets, the same-core arm and the hop note are about it. */
const isC1Baseline = (w: { concurrency: number; rate?: number; bodyKb?: number }) => w.concurrency === 1 && w.rate === undefined && w.bodyKb === undefined;
const armsOf = (w: { concurrency: number; rate?: number; bodyKb?: number }) => (isC1Baseline(w) ? C1_ARMS : ARMS);
interface WorkloadResult {
  name: string;
  concurrency: number;
  rate?: number;
  bodyKb?: number;
  arms: Record<"direct" | "bare" | "gateway", ArmStats> & Partial<Record<Arm, ArmStats>>;
  /** Each round's requests a second, per arm: round i of every arm ran back to back, so their ratios pair up. */
  roundRps: Partial<Record<Arm, number[]>>;
}

/** Gateway slug -> upstream model name; the mock reads its behaviour from the latter ("ttfb-20": 20 ms before answering). */
const MODELS = { "bench-fast": "mock", "bench-ttfb-20": "mock-ttfb-20" };
interface Workload {
  name: string;
  /** Closed loop: requests in flight; open loop: the cap on connections. */
  concurrency: number;
  /** Open loop at this many arrivals per second. */
  rate?: number;
  slug: string;
  /** Request bodies of about this many KB (test/bench/large-body.ts) instead of a one-line chat. */
  bodyKb?: number;
}
const WORKLOADS: readonly Workload[] = [
  { name: "no-delay mock", concurrency: 1, slug: "bench-fast" },
  { name: "no-delay mock", concurrency: 64, slug: "bench-fast" },
  { name: "no-delay mock, open loop", concurrency: 256, rate: OPEN_LOOP_RATE, slug: "bench-fast" },
  { name: "20 ms mock", concurrency: 64, slug: "bench-ttfb-20" },
  { name: "no-delay mock, 200 KB requests", concurrency: 1, slug: "bench-fast", bodyKb: 200 },
];

async function run(env: BenchEnv): Promise<SectionResult> {
  const sameCore = await startStoppableChild("bare passthrough (core 1)", benchFile("bare-passthrough.ts"), ["--upstream", env.mockUrl], { core: CLIENT_CORE, ready: /^(http:\/\/\S+)$/ });
  try {
    return await measure(env, sameCore);
  } finally {
    await sameCore.stop();
  }
}

async function measure(env: BenchEnv, sameCore: { value: string; pid: number }): Promise<SectionResult> {
  const target = (arm: Arm, slug: string) =>
    arm === "gateway"
      ? { url: env.gatewayUrl, model: slug, key: env.inferenceKey }
      : { url: arm === "bare" ? env.bareUrl : arm === "bare, core 1" ? sameCore.value : env.mockUrl, model: env.models[slug]!, key: "sk-bench" };
  const load = async (arm: Arm, slug: string, concurrency: number, seconds: string, warmup: string, rate?: number, bodyKb?: number): Promise<LoadResult> => {
    const t = target(arm, slug);
    const args = ["--url", `${t.url}/v1/chat/completions`, "--model", t.model, "--key", t.key, "--concurrency", String(concurrency), "--seconds", seconds, "--warmup-seconds", warmup];
    for (const [name, pids] of Object.entries(watchedPids(arm))) args.push("--cpu", `${name}=${pids.join(",")}`);
    if (rate !== undefined) args.push("--rate", String(rate));
    if (bodyKb !== undefined) args.push("--body-kb", String(bodyKb));
    return JSON.parse(await runChild(benchFile("load.ts"), args, CLIENT_CORE)) as LoadResult;
  };

  // Whose CPU each request costs: the relay on core 0, and what it leans on (Redis and Postgres are shared, unpinned
  // services, so the gateway arm's share of theirs shows up here; the other arms touch neither).
  const watchedPids = (arm: Arm): Record<string, number[]> => ({
    relay: arm === "direct" ? [] : [arm === "bare" ? env.pids.bare : arm === "bare, core 1" ? sameCore.pid : env.pids.gateway],
    mock: [env.pids.mock],
    redis: pidsNamed("redis-server"),
    postgres: pidsNamed("postgres"),
  });

  // A short check per arm: every arm must answer 200 before anything is measured.
  for (const arm of C1_ARMS) {
    const probe = await load(arm, "bench-fast", 1, "0.2", "0");
    if (probe.errors > 0 || probe.samplesUs.length === 0) throw new Error(`${arm} arm is not answering: ${probe.firstError}`);
  }
  // Unrecorded warm-up of every arm at c64 (JIT, connection pools, Redis scripts) before the first measured round.
  for (const arm of ARMS) await load(arm, "bench-fast", 64, PREHEAT, "0");

  const results: WorkloadResult[] = [];
  for (const w of WORKLOADS) {
    const rounds = await interleavedRounds(armsOf(w), ROUNDS, async (arm, round) => {
      const r = await load(arm, w.slug, w.concurrency, SECONDS, WARMUP, w.rate, w.bodyKb);
      env.log(`${w.name} ${label(w)} round ${round + 1}/${ROUNDS} ${arm}: ${r.samplesUs.length} requests`);
      return r;
    });
    results.push({
      name: w.name,
      concurrency: w.concurrency,
      rate: w.rate,
      bodyKb: w.bodyKb,
      arms: Object.fromEntries(armsOf(w).map((arm) => [arm, mergeRounds(rounds[arm])])) as WorkloadResult["arms"],
      roundRps: Object.fromEntries(armsOf(w).map((arm) => [arm, rounds[arm].map((r) => requestsPerSecond([r]))])),
    });
  }

  const errors = results.flatMap((w) =>
    armsOf(w)
      .filter((arm) => w.arms[arm]!.errors > 0)
      .map((arm) => `- ${w.name} ${label(w)} ${arm}: ${w.arms[arm]!.errors} errors, first: \`${w.arms[arm]!.firstError}\``),
  );
  return {
    body: [
      [
        `Every arm first gets ${PREHEAT} s of unrecorded c64 load; then each workload runs ${ROUNDS} rounds of ${SECONDS} s per arm (after ${WARMUP} s of warm-up each), the arms' order rotating per round, and the rounds are merged.`,
        "Load generator: test/bench/load.ts, an undici Pool (one connection per concurrent request), closed loop, non-streamed chat completions (8 output tokens); one-line requests, except the 200 KB workload, whose requests are shaped like a coding agent's (test/bench/large-body.ts: a long system message, 20 tool schemas, 100-odd turns of text with quotes and non-ASCII), which the gateway must parse and pass on and the bare passthrough only relays.",
        `Open loop: the same generator sends ${OPEN_LOOP_RATE} requests per second on a fixed schedule whatever the answers do (at most 256 connections), so a slow arm cannot slow the arrivals down; latency counts from the hand-over to the pool. The generator's timers fire late by up to ${sendLag(results)} (p99, worst round), the same for every arm.`,
        "cores busy: how busy core 0 (gateway or bare passthrough) and core 1 (mock, load generator; Redis and Postgres are not pinned) were during the arm's measured windows, machine-wide from /proc/stat: an arm whose core 1 is near 100 % is limited by the client side, not by what runs on core 0.",
        "- **direct**: the load generator calls the mock provider.",
        "- **bare**: test/bench/bare-passthrough.ts, uWebSockets.js + the gateway's undici upstream client, no auth or policy.",
        "- **bare, core 1** (concurrency 1 only): the same passthrough on the mock's and load generator's core; bare − (bare, core 1) is what the hop to another core costs per request on this machine, which the gateway arm pays as well.",
        "- **gateway**: Tollgate's data plane with key auth, grants, Redis rate limit and budget reservation, usage records in Postgres.",
      ].join("\n"),
      resultTable(results),
      ...crossCoreNote(results),
      cpuTable(results),
      ...(errors.length ? [errors.join("\n")] : []),
    ],
    targets: targets(results),
  };
}

function resultTable(results: WorkloadResult[]): string {
  const rows = [
    "| workload | arm | conc. | requests | errors | p50 | p99 | RPS | p50 − direct | p99 − direct | p99 ÷ direct | RPS ÷ direct | cores busy |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of results) {
    const direct = w.arms.direct;
    for (const arm of armsOf(w)) {
      const s = w.arms[arm]!;
      const vs = arm === "direct" ? ["", "", "", ""] : [signedUs(s.p50Us - direct.p50Us), signedUs(s.p99Us - direct.p99Us), ratio(s.p99Us / direct.p99Us), ratio(s.rps / direct.rps)];
      rows.push(`| ${w.name} | ${arm} | ${label(w)} | ${s.requests} | ${s.errors} | ${us(s.p50Us)} | ${us(s.p99Us)} | ${Math.round(s.rps)} | ${vs.join(" | ")} | ${coresBusy(s)} |`);
    }
  }
  return rows.join("\n");
}

/** At concurrency 1: how much of the added latency is the hop between cores, and how much the gateway's own work. */
function crossCoreNote(results: WorkloadResult[]): string[] {
  const c1 = results.find(isC1Baseline)?.arms;
  const sameCore = c1?.["bare, core 1"];
  if (!c1 || !sameCore) return [];
  const hop = (p: "p50Us" | "p99Us") => signedUs(c1.bare[p] - sameCore[p]);
  const policy = (p: "p50Us" | "p99Us") => signedUs(c1.gateway[p] - c1.bare[p]);
  return [
    `At concurrency 1 the hop to another core costs ${hop("p50Us")} p50 / ${hop("p99Us")} p99 (bare − bare on core 1), the same passthrough code on either side; what the gateway's policy work adds on top of the bare passthrough is ${policy("p50Us")} p50 / ${policy("p99Us")} p99 (gateway − bare).`,
  ];
}

const CPU_GROUPS = ["relay", "redis", "postgres", "mock", "load generator"] as const;

/** Where each arm's CPU went, per answered request: what policy costs the gateway's core and the services beside it. */
function cpuTable(results: WorkloadResult[]): string {
  const rows = [
    "CPU per answered request in the measured windows (µs; /proc/<pid>/stat, 10 ms ticks; relay = the gateway or the bare passthrough; redis and postgres = every redis-server and postgres process):",
    "",
    "| workload | arm | conc. | relay | redis | postgres | mock | load generator | all | relay − bare |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of results) {
    for (const arm of armsOf(w)) {
      const cpu = w.arms[arm]!.cpuUsPerRequest;
      const cells = CPU_GROUPS.map((name) => (arm === "direct" && name === "relay" ? "" : us(cpu[name] ?? Number.NaN)));
      const overBare = arm === "gateway" ? signedUs((cpu.relay ?? Number.NaN) - (w.arms.bare.cpuUsPerRequest.relay ?? Number.NaN)) : "";
      rows.push(`| ${w.name} | ${arm} | ${label(w)} | ${cells.join(" | ")} | ${us(machineCpu(cpu))} | ${overBare} |`);
    }
  }
  return [
    rows.join("\n"),
    "all: the columns summed, what one request costs the two cores together. Where a core is saturated (cores busy near 100 %), an arm's requests a second follow this sum more than the relay's own CPU: Redis and Postgres are not pinned, so the gateway arm's share of them can land on the client core, beside the load generator and the mock.",
  ].join("\n\n");
}

/** Every watched group's CPU per request, summed (the direct arm has no relay). */
function machineCpu(cpu: Record<string, number>): number {
  return CPU_GROUPS.reduce((sum, name) => sum + (cpu[name] ?? 0), 0);
}

/** "31 % / 98 %": core 0 (the gateway's) then core 1 (mock, load generator, Redis, Postgres), measured windows only. */
function coresBusy(s: ArmStats): string {
  return s.coreBusy.length ? s.coreBusy.map((busy) => `${Math.round(busy)} %`).join(" / ") : "n/a";
}

/** The conc. column: requests in flight, or the arrival rate of an open-loop workload. */
function label(w: { concurrency: number; rate?: number }): string {
  return w.rate === undefined ? String(w.concurrency) : `${w.rate}/s`;
}

function sendLag(results: WorkloadResult[]): string {
  const lags = results.flatMap((w) => armsOf(w).map((arm) => w.arms[arm]!.sendLagP99Us ?? 0));
  return us(Math.max(0, ...lags));
}

function targets(results: WorkloadResult[]): Target[] {
  const workload = (name: string, concurrency: number) => results.find((w) => w.name === name && w.concurrency === concurrency && w.rate === undefined)!;
  const find = (name: string, concurrency: number) => workload(name, concurrency).arms;
  const c1 = find("no-delay mock", 1);
  const slow = find("20 ms mock", 64);
  const fast = find("no-delay mock", 64);
  const addedP50 = c1.gateway.p50Us - c1.direct.p50Us;
  const addedP99 = c1.gateway.p99Us - c1.direct.p99Us;
  const slowRatio = slow.gateway.rps / slow.direct.rps;
  const bareRatio = fast.gateway.rps / fast.bare.rps;
  return [
    { label: "added p50 at concurrency 1 ≤ 250 µs [Bifrost, Portkey, LiteLLM: see p99]", value: signedUs(addedP50), pass: addedP50 <= 250 },
    { label: "added p99 at concurrency 1 ≤ 500 µs [Bifrost 939 µs, Portkey 3.3 ms, LiteLLM 4–8 ms]", value: signedUs(addedP99), pass: addedP99 <= 500 },
    { label: "20 ms mock, c64: gateway RPS ÷ direct RPS ≥ 0.95 [Bifrost 0.95, Portkey 0.92]", value: `${ratio(slowRatio)}${roundSpread(workload("20 ms mock", 64), "direct")}`, pass: slowRatio >= 0.95 },
    { label: "no-delay mock, c64: gateway RPS ÷ bare-passthrough RPS ≥ 0.85", value: `${ratio(bareRatio)}${roundSpread(workload("no-delay mock", 64), "bare")}`, pass: bareRatio >= 0.85 },
  ];
}

/**
 * " (rounds 0.87–0.95)": the lowest and highest of the per-round gateway ÷ reference ratios, so a reader sees how far
 * the host moved within the run; the verdict stays on the merged rounds.
 */
function roundSpread(w: WorkloadResult, reference: "direct" | "bare"): string {
  const gateway = w.roundRps.gateway ?? [];
  const base = w.roundRps[reference] ?? [];
  const ratios = gateway.map((rps, i) => rps / base[i]!).filter((r) => Number.isFinite(r));
  if (ratios.length < 2) return "";
  return ` (rounds ${ratio(Math.min(...ratios))}–${ratio(Math.max(...ratios))})`;
}

export const latencySection: BenchSection = { id: "latency", title: "Added latency and throughput", models: MODELS, run };
