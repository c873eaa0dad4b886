// Item 3 of the benchmark issue: streams of 64 chunks every 20 ms and of 500 chunks unpaced at 100 and 1,000 concurrent
// streams, three arms interleaved in rounds, each arm's streams from our own SSE client (stream-load.ts) in its own process.
// Knobs: BENCH_STREAM_ROUNDS (else BENCH_ROUNDS, else 2), BENCH_STREAM_SECONDS (2.6), BENCH_STREAM_WARMUP_SECONDS (1.5),
// BENCH_STREAM_CONCURRENCY ("100,1000"), BENCH_STALL_MS (100: a stall is a gap over the pacing + this).
import { CLIENT_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import { signedUs, us } from "../format.ts";
import { mockPacingMs } from "../mock-pacing.ts";
import { runChild } from "../processes.ts";
import { cpuSeconds } from "../proc-stats.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import type { StreamLoadResult } from "../stream-load.ts";
import { type ByteComparison, compareBytes, mergeStreamRounds, type StreamArmStats } from "../stream-stats.ts";
import { interleavedRounds } from "../interleaved-rounds.ts";

const ROUNDS = Number(process.env.BENCH_STREAM_ROUNDS ?? process.env.BENCH_ROUNDS ?? 2);
/** Two generations of paced streams (1.28 s each). */
const SECONDS = process.env.BENCH_STREAM_SECONDS ?? "2.6";
/** Long enough for the ramp-up (1.28 s) to pass unrecorded. */
const WARMUP = process.env.BENCH_STREAM_WARMUP_SECONDS ?? "1.5";
const CONCURRENCY = (process.env.BENCH_STREAM_CONCURRENCY ?? "100,1000").split(",").map(Number);
const STALL_MS = process.env.BENCH_STALL_MS ?? "100";

type Arm = "direct" | "bare" | "gateway";
const ARMS: readonly Arm[] = ["direct", "bare", "gateway"];

/** Gateway slug -> upstream model; `stable` makes the mock's ids and timestamps the same for every request. */
const MODELS = { "bench-stream-64x20": "mock-chunks-64-delay-20-stable", "bench-stream-500": "mock-chunks-500-stable" };

interface Workload {
  name: string;
  slug: keyof typeof MODELS;
  chunks: number;
  paced: boolean;
  concurrency: number;
  /** The client asks for `stream_options.include_usage` itself (else the gateway injects it and hides the usage chunk). */
  includeUsage: boolean;
  /**
   * The first streams open spread over this time (one paced stream's length), so that later generations, which start
   * as earlier ones end, do not arrive as bursts of N requests in the same millisecond.
   */
  rampSeconds: number;
  /** Fewer rounds than the others (the usage-asking client is there for its bytes). */
  rounds?: number;
}

function workloads(): Workload[] {
  const list: Workload[] = [];
  for (const [name, slug, chunks, paced, rampSeconds] of [
    ["64 chunks × 20 ms", "bench-stream-64x20", 64, true, 1.28],
    ["500 chunks unpaced", "bench-stream-500", 500, false, 0.5],
  ] as const) {
    for (const concurrency of CONCURRENCY) list.push({ name, slug, chunks, paced, concurrency, includeUsage: false, rampSeconds });
  }
  // One client that asks for usage itself: the gateway must then pass the usage chunk through untouched.
  list.push({ ...list[0]!, includeUsage: true, rounds: 1 });
  return list;
}

interface WorkloadResult extends Workload {
  arms: Record<Arm, StreamArmStats>;
  /** CPU the relay process (bare, gateway) used during its runs ÷ their wall time (1 is a whole core), and per stream. */
  cpu: Record<Exclude<Arm, "direct">, { share: number; perStreamUs: number }>;
  bytes: Record<Exclude<Arm, "direct">, ByteComparison>;
}

const label = (w: Workload) => `${w.name}, c${w.concurrency}${w.includeUsage ? ", client asks for usage" : ""}`;

async function run(env: BenchEnv): Promise<SectionResult> {
  /** CPU seconds and wall seconds of each relay during the measured runs. */
  const noCpu = () => ({ bare: { cpu: 0, wall: 0, streams: 0 }, gateway: { cpu: 0, wall: 0, streams: 0 } });
  let cpu: Record<Exclude<Arm, "direct">, { cpu: number; wall: number; streams: number }> = noCpu();
  const load = async (arm: Arm, w: Workload, seconds: string, warmup: string): Promise<StreamLoadResult> => {
    const gateway = arm === "gateway";
    const url = gateway ? env.gatewayUrl : arm === "bare" ? env.bareUrl : env.mockUrl;
    const args = [
      ...["--url", `${url}/v1/chat/completions`, "--model", gateway ? w.slug : env.models[w.slug]!, "--key", gateway ? env.inferenceKey : "sk-bench"],
      ...["--streams", String(w.concurrency), "--seconds", seconds, "--warmup-seconds", warmup, "--max-tokens", String(w.chunks), "--stall-ms", STALL_MS],
      // Explicit: the gateway arm sends a slug, whose name does not tell stream-load the pacing the others read from theirs.
      ...["--pacing-ms", String(mockPacingMs(MODELS[w.slug]))],
      ...["--ramp-seconds", String(Math.min(w.rampSeconds, Number(warmup)))],
      ...(w.includeUsage ? ["--include-usage"] : []),
    ];
    const pid = arm === "direct" ? null : env.pids[arm];
    const [cpu0, t0] = [pid === null ? 0 : cpuSeconds(pid), performance.now()];
    const result = JSON.parse(await runChild(benchFile("stream-load.ts"), args, CLIENT_CORE)) as StreamLoadResult;
    if (arm !== "direct") {
      cpu[arm].cpu += cpuSeconds(pid!) - cpu0;
      cpu[arm].wall += (performance.now() - t0) / 1000;
      cpu[arm].streams += result.started;
    }
    return result;
  };

  const list = workloads();
  // Every arm must stream before anything is measured; then an unrecorded warm-up of each (JIT, pools, connections).
  for (const arm of ARMS) {
    const probe = await load(arm, { ...list[0]!, concurrency: 1 }, "0.1", "0");
    if (probe.errors > 0 || probe.completed === 0) throw new Error(`${arm} arm is not streaming: ${probe.firstError}`);
  }
  const heaviest = list.reduce((a, b) => (b.concurrency > a.concurrency ? b : a));
  for (const arm of ARMS) await load(arm, { ...heaviest, slug: "bench-stream-500", chunks: 500, rampSeconds: 0.5 }, "1", "0.5");

  const results: WorkloadResult[] = [];
  for (const w of list) {
    cpu = noCpu();
    const rounds = w.rounds ?? ROUNDS;
    const runs = await interleavedRounds(ARMS, rounds, async (arm, round) => {
      const r = await load(arm, w, SECONDS, WARMUP);
      env.log(`streaming ${label(w)} round ${round + 1}/${rounds} ${arm}: ${r.completed}/${r.streams} streams, ${r.stalls} stalls, ${r.errors} errors`);
      return r;
    });
    const arms = { direct: mergeStreamRounds(runs.direct), bare: mergeStreamRounds(runs.bare), gateway: mergeStreamRounds(runs.gateway) };
    const share = (c: { cpu: number; wall: number; streams: number }) => ({ share: c.cpu / c.wall, perStreamUs: (c.cpu / c.streams) * 1e6 });
    results.push({ ...w, arms, cpu: { bare: share(cpu.bare), gateway: share(cpu.gateway) }, bytes: { bare: compareBytes(arms.bare, arms.direct), gateway: compareBytes(arms.gateway, arms.direct) } });
  }

  const errors = results.flatMap((w) =>
    ARMS.filter((arm) => w.arms[arm].errors > 0).map((arm) => `- ${label(w)} ${arm}: ${w.arms[arm].errors} errors, first: \`${w.arms[arm].firstError}\``),
  );
  const byteNotes = results.flatMap((w) =>
    (["bare", "gateway"] as const).filter((arm) => !w.bytes[arm].same).map((arm) => `- ${label(w)}, ${arm}: not the same bytes as direct: ${w.bytes[arm].note}`),
  );
  return {
    body: [
      [
        `Each workload runs ${ROUNDS} rounds (the usage-asking client 1) of ${SECONDS} s per arm (after ${WARMUP} s of unrecorded warm-up each), the arms' order rotating per round; rounds are merged.`,
        "Client: test/bench/stream-load.ts, our own SSE client on undici (`Pool.dispatch`, one connection per stream), closed loop: each of the N streams opens the next when it ends. Timestamps are `performance.now()` in the response-data callback, nothing is decoded per chunk.",
        `- **TTFT**: request → first body chunk holding a non-empty content delta (includes the mock's 20 ms pacing for the paced workload). **gap**: time between consecutive body chunks (socket reads) of one stream. **stall**: a gap longer than the pacing + ${STALL_MS} ms.`,
        "- **same bytes**: md5 of every completed stream's body; the mock's `stable` control makes its ids and timestamps identical per request, so all streams of a workload must hash alike, and each arm alike to direct.",
        "- Unless noted, clients do not ask for usage: the gateway then adds `stream_options.include_usage` upstream and hides the usage chunk from the client.",
        "- **Targets** compare the gateway with direct and with the bare passthrough, and pass only when both differences are within the target; when direct's own tail is the worst of the three (gateway − direct negative and below gateway − bare) the reference was disturbed and the target gets NO VERDICT rather than a PASS.",
        "- The first N streams open spread over one paced stream's length (1.28 s; 0.5 s unpaced), during the warm-up, so that generations of streams do not start as bursts. **relay CPU**: CPU time of the bare or gateway process during its runs ÷ their wall time (100 % = its whole core: the relay was the bottleneck), and ÷ the streams it relayed (warm-up included); unlike the times, this does not depend on how busy the machine is.",
      ].join("\n"),
      resultTable(results),
      ...(byteNotes.length ? [byteNotes.join("\n")] : []),
      ...(errors.length ? [errors.join("\n")] : []),
    ],
    targets: targets(results),
  };
}

function resultTable(results: WorkloadResult[]): string {
  const rows = [
    "| workload | arm | streams | errors | TTFT p50 | TTFT p99 | TTFT p50 − direct | TTFT p99 − direct | gap p50 | gap p99 | gap p99 − direct | max gap | stalls | same bytes | relay CPU | relay CPU per stream |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const w of results) {
    const d = w.arms.direct;
    for (const arm of ARMS) {
      const s = w.arms[arm];
      const vs = arm === "direct" ? ["", "", ""] : [signedUs(s.ttftP50Us - d.ttftP50Us), signedUs(s.ttftP99Us - d.ttftP99Us), signedUs(s.gapP99Us - d.gapP99Us)];
      const same = arm === "direct" ? (Object.keys(d.digests).length === 1 ? "(reference)" : "NO: bodies differ") : w.bytes[arm].same ? "yes" : "NO";
      rows.push(
        `| ${label(w)} | ${arm} | ${s.completed}/${s.streams} | ${s.errors} | ${us(s.ttftP50Us)} | ${us(s.ttftP99Us)} | ${vs[0]} | ${vs[1]} | ${us(s.gapP50Us)} | ${us(s.gapP99Us)} | ${vs[2]} | ${us(s.maxGapUs)} | ${s.stalls} | ${same} | ${arm === "direct" ? " | " : `${Math.round(w.cpu[arm].share * 100)} % | ${us(w.cpu[arm].perStreamUs)}`} |`,
      );
    }
  }
  return rows.join("\n");
}

function targets(results: WorkloadResult[]): Target[] {
  const list: Target[] = [];
  for (const w of results.filter((r) => !r.includeUsage)) {
    const { gateway: g, direct: d, bare: b } = w.arms;
    // A relay cannot make the provider faster: when the direct arm's tail is the worst one (its mock and client core
    // was busier while it ran), gateway − direct goes negative and proves nothing, so there is no verdict. Otherwise
    // a target passes only when the gateway is also within it of the bare passthrough, whose relay work it contains.
    const judged = (added: number, overBare: number, limit: number) => {
      const directWorst = added < 0 && added < overBare;
      return {
        value: `${signedUs(added)} (over bare ${signedUs(overBare)})${directWorst ? "; direct's own tail was the worst" : ""}`,
        pass: directWorst ? null : added <= limit && overBare <= limit,
      };
    };
    list.push({ label: `${label(w)}: added TTFT p99 ≤ 1 ms [Bifrost 1.2 ms]`, ...judged(g.ttftP99Us - d.ttftP99Us, g.ttftP99Us - b.ttftP99Us, 1000) });
    list.push({ label: `${label(w)}: added chunk gap p99 ≤ 50 µs [Bifrost 28 µs]`, ...judged(g.gapP99Us - d.gapP99Us, g.gapP99Us - b.gapP99Us, 50) });
  }
  const paced = results.filter((r) => r.paced && !r.includeUsage).sort((a, b) => b.concurrency - a.concurrency)[0];
  if (paced) {
    const g = paced.arms.gateway;
    const clean = g.stalls === 0 && g.errors === 0 && g.completed === g.streams;
    list.push({
      label: `${paced.concurrency} concurrent paced streams through one gateway core without stalls`,
      value: `${g.stalls} stalls, ${g.errors} errors, ${g.completed}/${g.streams} complete`,
      pass: paced.concurrency >= 1000 && clean,
    });
  }
  const mismatched = results.filter((w) => !w.bytes.gateway.same);
  list.push({
    label: "the gateway's clients receive the same bytes as direct (every workload, with and without asking for usage)",
    value: mismatched.length === 0 ? "all same" : `differs in ${mismatched.length}/${results.length} workloads`,
    pass: mismatched.length === 0,
  });
  return list;
}

export const streamingSection: BenchSection = { id: "streaming", title: "Streaming", models: MODELS, run };
