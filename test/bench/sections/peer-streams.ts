// The streaming half of the `peer` section: the streaming section's workloads (64 chunks every 20 ms, 500 chunks
// unpaced, at 100 and 1,000 concurrent streams) through direct, Tollgate and Portkey, interleaved, from stream-load.ts.
import { CLIENT_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import { CpuShare, percent } from "../cpu-share.ts";
import { signedUs, us } from "../format.ts";
import { mockPacingMs } from "../mock-pacing.ts";
import { runChild } from "../processes.ts";
import type { Target } from "../section.ts";
import type { StreamLoadResult } from "../stream-load.ts";
import { compareBytes, mergeStreamRounds, type StreamArmStats } from "../stream-stats.ts";
import { interleavedRounds } from "../interleaved-rounds.ts";

const ROUNDS = Number(process.env.BENCH_PEER_STREAM_ROUNDS ?? 1);
const SECONDS = process.env.BENCH_PEER_STREAM_SECONDS ?? "2";
/** Covers the ramp-up and the first generation of paced streams (1.28 s each), unrecorded. */
const WARMUP = process.env.BENCH_PEER_STREAM_WARMUP_SECONDS ?? "1.5";
const CONCURRENCY = (process.env.BENCH_PEER_STREAM_CONCURRENCY ?? "100,1000").split(",").map(Number);
/** A run still going after this long is stopped and counted as failed (a stuck peer must not stall the whole bench). */
const TIMEOUT_S = Number(process.env.BENCH_PEER_STREAM_TIMEOUT_SECONDS ?? 60);
const STALL_MS = process.env.BENCH_STALL_MS ?? "100";
const STREAM_TARGET_RATIO = 10;

export type StreamArm = "direct" | "gateway" | "portkey";
const ARMS: readonly StreamArm[] = ["direct", "gateway", "portkey"];
const LABEL: Record<StreamArm, string> = { direct: "direct", gateway: "Tollgate", portkey: "Portkey" };

/** Gateway slug -> upstream model; `stable`: the mock's ids and timestamps are the same for every answer (bytes compare). */
export const STREAM_MODELS = { "peer-stream-64x20": "mock-chunks-64-delay-20-stable", "peer-stream-500": "mock-chunks-500-stable" };

interface Workload {
  name: string;
  slug: keyof typeof STREAM_MODELS;
  chunks: number;
  concurrency: number;
  rampSeconds: number;
}

const WORKLOADS: Workload[] = (
  [
    ["64 chunks × 20 ms", "peer-stream-64x20", 64, 1.28],
    ["500 chunks unpaced", "peer-stream-500", 500, 0.5],
  ] as const
).flatMap(([name, slug, chunks, rampSeconds]) => CONCURRENCY.map((concurrency) => ({ name, slug, chunks, concurrency, rampSeconds })));

interface WorkloadResult extends Workload {
  arms: Record<StreamArm, StreamArmStats & { streamsPerSecond: number }>;
  same: Record<Exclude<StreamArm, "direct">, string>;
  cpuShare: Record<Exclude<StreamArm, "direct">, number>;
}

const label = (w: Workload) => `${w.name}, c${w.concurrency}`;

/** What stream-load.ts would print for a run that never reported: one error, nothing measured. */
function failedRun(message: string): StreamLoadResult {
  return { ttftUs: [], headersUs: [], gapUs: [], gapCount: 0, maxGapUs: 0, stalls: 0, stallThresholdMs: Number.NaN, started: 0, streams: 0, completed: 0, errors: 1, firstError: message, chunks: 0, bytes: 0, digests: {}, sampleBody: null, windowMs: 0 };
}

export interface Peer {
  url: string;
  pid: number;
  /** Routing headers ("name: value") every request to it carries. */
  headers: string[];
}

export async function runPeerStreams(env: BenchEnv, peer: Peer): Promise<{ body: string[]; targets: Target[] }> {
  const load = async (arm: StreamArm, w: Workload, seconds: string, warmup: string): Promise<StreamLoadResult> => {
    const url = arm === "gateway" ? env.gatewayUrl : arm === "portkey" ? peer.url : env.mockUrl;
    const args = [
      ...["--url", `${url}/v1/chat/completions`, "--model", arm === "gateway" ? w.slug : env.models[w.slug]!, "--key", arm === "gateway" ? env.inferenceKey : "sk-bench"],
      ...["--streams", String(w.concurrency), "--seconds", seconds, "--warmup-seconds", warmup, "--max-tokens", String(w.chunks), "--stall-ms", STALL_MS],
      // Explicit: the gateway arm sends a slug, whose name does not tell stream-load the pacing the others read from theirs.
      ...["--pacing-ms", String(mockPacingMs(STREAM_MODELS[w.slug]))],
      ...["--ramp-seconds", String(Math.min(w.rampSeconds, Number(warmup)))],
      ...(arm === "portkey" ? peer.headers.flatMap((h) => ["--header", h]) : []),
    ];
    try {
      return JSON.parse(await runChild(benchFile("stream-load.ts"), args, CLIENT_CORE, { timeoutMs: TIMEOUT_S * 1000 })) as StreamLoadResult;
    } catch (error) {
      return failedRun(`stream client failed: ${(error as Error).message.slice(0, 300)}`);
    }
  };

  const notes: string[] = [];
  for (const arm of ARMS) {
    const probe = await load(arm, { ...WORKLOADS[0]!, concurrency: 1 }, "0.1", "0");
    if (probe.errors > 0 || probe.completed === 0) {
      if (arm !== "portkey") throw new Error(`${arm} arm is not streaming: ${probe.firstError}`);
      notes.push(`Portkey failed its first streaming check (1 concurrent stream, 0.1 s): ${probe.errors} errors, first: \`${probe.firstError}\`.`);
    }
  }

  const results: WorkloadResult[] = [];
  for (const w of WORKLOADS) {
    const cpu = { gateway: new CpuShare(env.pids.gateway), portkey: new CpuShare(peer.pid) };
    const rounds = await interleavedRounds(ARMS, ROUNDS, async (arm, round) => {
      const run = () => load(arm, w, SECONDS, WARMUP);
      const r = await (arm === "direct" ? run() : cpu[arm].during(run));
      env.log(`peer streams: ${label(w)} round ${round + 1}/${ROUNDS} ${arm}: ${r.completed}/${r.streams} streams, ${r.stalls} stalls, ${r.errors} errors`);
      return r;
    });
    const merged = (arm: StreamArm) => {
      const stats = mergeStreamRounds(rounds[arm]);
      const windowS = rounds[arm].reduce((s, r) => s + r.windowMs, 0) / 1000;
      return { ...stats, streamsPerSecond: windowS > 0 ? stats.completed / windowS : 0 };
    };
    const arms = { direct: merged("direct"), gateway: merged("gateway"), portkey: merged("portkey") };
    const same = (arm: "gateway" | "portkey") => {
      if (arms[arm].completed === 0) return "n/a (nothing completed)";
      const c = compareBytes(arms[arm], arms.direct);
      return c.same ? "yes" : `NO: ${c.note}`;
    };
    results.push({ ...w, arms, same: { gateway: same("gateway"), portkey: same("portkey") }, cpuShare: { gateway: cpu.gateway.share, portkey: cpu.portkey.share } });
  }

  const errors = results.flatMap((w) =>
    ARMS.filter((arm) => w.arms[arm].errors > 0).map((arm) => `- ${label(w)} ${LABEL[arm]}: ${w.arms[arm].errors} errors, first: \`${w.arms[arm].firstError}\``),
  );
  return {
    body: [
      [
        `**Streaming.** Each workload runs ${ROUNDS} round(s) of ${SECONDS} s per arm after ${WARMUP} s of unrecorded warm-up (the first streams open spread over it), arms interleaved. Client: test/bench/stream-load.ts (closed loop, one connection per stream; a stream counts when it starts inside the window and runs to its end; a run still going after ${TIMEOUT_S} s is stopped and counted as one error).`,
        `TTFT: request → first body chunk with content; gap: between body chunks of one stream; stall: a gap longer than the pacing + ${STALL_MS} ms; same bytes: every completed stream's md5 equals direct's. Tollgate adds \`stream_options.include_usage\` upstream and hides the usage chunk from clients that did not ask for it; Portkey relays the mock's stream as it is.`,
        "Portkey's stream reader (src/handlers/streamHandler.ts, `readStream`) waits 25 ms before relaying a stream's first event, by design: that is in its TTFT.",
        ...notes,
      ].join("\n"),
      streamTable(results),
      ...(errors.length ? [errors.join("\n")] : []),
    ],
    targets: streamTargets(results),
  };
}

function streamTable(results: WorkloadResult[]): string {
  const rows = [
    "| workload | arm | streams done/started | errors | streams/s | TTFT p50 | TTFT p99 | TTFT p99 − direct | gap p99 | gap p99 − direct | max gap | stalls | same bytes as direct | relay CPU |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
  ];
  for (const w of results) {
    const d = w.arms.direct;
    for (const arm of ARMS) {
      const s = w.arms[arm];
      const vs = arm === "direct" ? ["", ""] : [signedUs(s.ttftP99Us - d.ttftP99Us), signedUs(s.gapP99Us - d.gapP99Us)];
      const same = arm === "direct" ? (Object.keys(d.digests).length === 1 ? "(reference)" : "NO: direct's bodies differ") : w.same[arm];
      rows.push(
        `| ${label(w)} | ${LABEL[arm]} | ${s.completed}/${s.streams} | ${s.errors} | ${Math.round(s.streamsPerSecond)} | ${us(s.ttftP50Us)} | ${us(s.ttftP99Us)} | ${vs[0]} | ${us(s.gapP99Us)} | ${vs[1]} | ${us(s.maxGapUs)} | ${s.stalls} | ${same} | ${arm === "direct" ? "" : percent(w.cpuShare[arm])} |`,
      );
    }
  }
  return rows.join("\n");
}

/** Where the relay, not the mock's pacing, limits throughput (unpaced streams): Tollgate's completed streams/s ÷ Portkey's. */
function streamTargets(results: WorkloadResult[]): Target[] {
  return results
    .filter((w) => w.slug === "peer-stream-500")
    .map((w) => {
      const { gateway: g, portkey: p } = w.arms;
      const label = `${w.name}, c${w.concurrency}: Tollgate streams/s ÷ Portkey streams/s ≥ ${STREAM_TARGET_RATIO}× (the peer's throughput in the same run)`;
      if (p.completed === 0) return { label, value: `not comparable: Portkey completed 0 streams (${p.errors} errors)`, pass: false };
      const n = g.streamsPerSecond / p.streamsPerSecond;
      return { label, value: `${n.toFixed(2)}×`, pass: n >= STREAM_TARGET_RATIO };
    });
}
