// Item 5 of the benchmark issue, the streams part: the gateway's resident memory at idle, with 1,000 open streams and
// after they end; and what it holds per stream for clients that read a large, fast stream a few KB/s at a time.
// Knobs: BENCH_MEMORY_STREAMS (1000), BENCH_MEMORY_RAMP_SECONDS (2), BENCH_MEMORY_SETTLE_SECONDS (5),
// BENCH_MEMORY_ARMS ("gateway,bare"), BENCH_SLOW_STREAMS (20), BENCH_SLOW_BYTES_PER_SECOND (4096), BENCH_SLOW_SECONDS (8),
// BENCH_SLOW_STEADY_AFTER_SECONDS (4).
import { request } from "undici";
import type { MockLiveStats } from "../../support/mock-provider.ts";
import { CLIENT_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import { mib } from "../format.ts";
import { portOf, processSockets, residentBytes, type SocketCounters } from "../proc-stats.ts";
import { runChild, runLineChild } from "../processes.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import type { SlowReadersProgress } from "../slow-readers.ts";
import type { StreamLoadResult } from "../stream-load.ts";

const OPEN_STREAMS = Number(process.env.BENCH_MEMORY_STREAMS ?? 1000);
/** The streams open over this time: a thousand requests in the same millisecond is a different test (admission bursts). */
const RAMP_SECONDS = Number(process.env.BENCH_MEMORY_RAMP_SECONDS ?? 2);
const SETTLE_SECONDS = Number(process.env.BENCH_MEMORY_SETTLE_SECONDS ?? 5);
/** Few enough that the kernel buffers on the way (MBs per stream on loopback) fill within seconds. */
const SLOW_STREAMS = Number(process.env.BENCH_SLOW_STREAMS ?? 20);
const SLOW_RATE = Number(process.env.BENCH_SLOW_BYTES_PER_SECOND ?? 4096);
const SLOW_SECONDS = Number(process.env.BENCH_SLOW_SECONDS ?? 8);
/** Snapshots before this are the buffers filling up, not the steady state. */
const SLOW_STEADY_AFTER_MS = Number(process.env.BENCH_SLOW_STEADY_AFTER_SECONDS ?? 4) * 1000;
const ARMS = (process.env.BENCH_MEMORY_ARMS ?? "gateway,bare").split(",").map((a) => a.trim()) as Arm[];

type Arm = "gateway" | "bare";

/**
 * 500 chunks every 20 ms: 10 s streams, all open at once. For the slow readers 100,000 unpaced chunks (~20 MB): more
 * than the kernel's socket buffers on the way can absorb (loopback autotunes them to MBs), so the mock must pause.
 */
const LONG_CHUNKS = 500;
const BIG_CHUNKS = 100_000;
const MODELS = { "bench-stream-long": `mock-chunks-${LONG_CHUNKS}-delay-20-stable`, "bench-stream-big": `mock-chunks-${BIG_CHUNKS}-stable` };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const kib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(1)} KiB` : "n/a");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function mockStats(env: BenchEnv): Promise<MockLiveStats> {
  const res = await request(`${env.mockUrl}/_mock/stats`);
  return (await res.body.json()) as MockLiveStats;
}

/** The gateway's own view of its memory (prom-client's default metrics): V8 heap used and total, and external memory. */
interface Heap {
  used: number;
  total: number;
  external: number;
}

async function gatewayHeap(env: BenchEnv): Promise<Heap | null> {
  try {
    const text = await (await request(`${env.gatewayUrl}/metrics`)).body.text();
    const metric = (name: string) => Number(new RegExp(`^tollgate_data_plane_${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    return { used: metric("nodejs_heap_size_used_bytes"), total: metric("nodejs_heap_size_total_bytes"), external: metric("nodejs_external_memory_bytes") };
  } catch {
    return null;
  }
}

const heapText = (h: Heap | null) => (h === null ? "n/a" : `${mib(h.used)} / ${mib(h.total)}, ext. ${mib(h.external)}`);

async function idleRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++, await sleep(200)) samples.push(residentBytes(pid));
  return median(samples);
}

interface OpenStreamsResult {
  arm: Arm;
  idle: number;
  /** The highest RSS from the first stream opening to the last one ending, and the most streams open at once (at the mock). */
  peak: number;
  mostOpen: number;
  /** [seconds since the streams ended, RSS] every 0.5 s. */
  after: [number, number][];
  load: StreamLoadResult;
  /** Gateway only: its heap before the streams and once they are over. */
  heapIdle: Heap | null;
  heapAfter: Heap | null;
}

/** Opens OPEN_STREAMS streams of 10 s at once through `arm`, sampling its RSS while they are open and after they end. */
async function openStreams(env: BenchEnv, arm: Arm): Promise<OpenStreamsResult> {
  const pid = env.pids[arm];
  const gateway = arm === "gateway";
  const idle = await idleRss(pid);
  const heapIdle = gateway ? await gatewayHeap(env) : null;
  const args = [
    ...["--url", `${gateway ? env.gatewayUrl : env.bareUrl}/v1/chat/completions`, "--model", gateway ? "bench-stream-long" : MODELS["bench-stream-long"]],
    ...["--key", gateway ? env.inferenceKey : "sk-bench", "--streams", String(OPEN_STREAMS), "--seconds", String(RAMP_SECONDS + 5), "--warmup-seconds", "0"],
    ...["--max-tokens", String(LONG_CHUNKS), "--max-gap-samples", "1000", "--ramp-seconds", String(RAMP_SECONDS)],
  ];
  let running = true;
  const child = runChild(benchFile("stream-load.ts"), args, CLIENT_CORE).finally(() => (running = false));
  let peak = 0;
  let mostOpen = 0;
  while (running) {
    await sleep(250);
    const [rss, stats] = [residentBytes(pid), await mockStats(env)];
    // The highest RSS over the whole run: what was allocated for the streams may only show as they end (usage records, GC).
    peak = Math.max(peak, rss);
    mostOpen = Math.max(mostOpen, stats.streamsOpen);
  }
  const load = JSON.parse(await child) as StreamLoadResult;
  const after: [number, number][] = [];
  for (let t = 0; t <= SETTLE_SECONDS; t += 0.5, await sleep(500)) after.push([t, residentBytes(pid)]);
  const heapAfter = gateway ? await gatewayHeap(env) : null;
  env.log(`memory ${arm}: idle ${mib(idle)}, peak ${mib(peak)} with up to ${mostOpen} open, after ${mib(after.at(-1)![1])}; ${load.completed}/${load.streams} streams, ${load.errors} errors ${load.firstError ?? ""}`);
  return { arm, idle, peak, mostOpen, after, load, heapIdle, heapAfter };
}

interface SlowSnapshot {
  t: number;
  rss: number;
  /** Response bytes the relay has read from its upstream sockets but not yet written to its client sockets. */
  held: number;
  /** The relay's own kernel queues: unread on its upstream sockets, unacknowledged on its client sockets. */
  kernelIn: number;
  kernelOut: number;
  /** Upstream connections with unread bytes: the relay has stopped reading them (paused), so the kernel holds them. */
  unreadUpstream: number;
  waitingDrain: number;
  open: number;
}

interface SlowResult {
  arm: Arm;
  idle: number;
  snapshots: SlowSnapshot[];
  final: SlowReadersProgress;
  drainWaits: number;
  /** Streams the mock still had open a second after the readers left (the relay must abort them upstream). */
  mockOpenAfter: number;
}

/**
 * What the relay process holds, from its sockets' tcp_info (ss): read from upstream = Σ (bytes received − unread) on
 * its connections to the mock; written to clients = Σ (bytes acknowledged + unacknowledged) on its client
 * connections; both counted from `baseline` for connections that existed before. The difference is what sits in
 * undici's and uWS's buffers, give or take the HTTP heads and chunk framing (a few hundred bytes per stream).
 */
function relayHeld(pid: number, relayPort: number, mockPort: number, baseline: Map<string, SocketCounters>) {
  const sockets = processSockets(pid);
  if (sockets === null) return null;
  let read = 0;
  let written = 0;
  let kernelIn = 0;
  let kernelOut = 0;
  let unreadUpstream = 0;
  for (const s of sockets) {
    const b = baseline.get(s.id);
    if (s.remotePort === mockPort) {
      read += s.received - s.recvQ - (b ? b.received - b.recvQ : 0);
      kernelIn += s.recvQ;
      if (s.recvQ > 0) unreadUpstream++;
    } else if (s.localPort === relayPort) {
      written += s.acked + s.sendQ - (b ? b.acked + b.sendQ : 0);
      kernelOut += s.sendQ;
    }
  }
  return { held: read - written, kernelIn, kernelOut, unreadUpstream };
}

/** SLOW_STREAMS readers take SLOW_RATE bytes/s each of a stream the mock writes as fast as it is allowed to. */
async function slowReaders(env: BenchEnv, arm: Arm): Promise<SlowResult> {
  const pid = env.pids[arm];
  const gateway = arm === "gateway";
  const relayPort = portOf(gateway ? env.gatewayUrl : env.bareUrl);
  const mockPort = portOf(env.mockUrl);
  const idle = await idleRss(pid);
  const before = await mockStats(env);
  const baseline = new Map((processSockets(pid) ?? []).map((s) => [s.id, s]));
  const snapshots: SlowSnapshot[] = [];
  const pending: Promise<void>[] = [];
  let final: SlowReadersProgress | null = null;
  const args = [
    ...["--url", `${gateway ? env.gatewayUrl : env.bareUrl}/v1/chat/completions`, "--model", gateway ? "bench-stream-big" : MODELS["bench-stream-big"]],
    ...["--key", gateway ? env.inferenceKey : "sk-bench", "--streams", String(SLOW_STREAMS), "--bytes-per-second", String(SLOW_RATE)],
    ...["--seconds", String(SLOW_SECONDS), "--max-tokens", String(BIG_CHUNKS)],
  ];
  await runLineChild(benchFile("slow-readers.ts"), args, CLIENT_CORE, (line) => {
    const progress = JSON.parse(line) as SlowReadersProgress;
    if (progress.final) return void (final = progress);
    const rss = residentBytes(pid);
    const relay = relayHeld(pid, relayPort, mockPort, baseline);
    pending.push(
      mockStats(env).then((stats) => {
        snapshots.push({
          t: progress.t,
          rss,
          held: relay?.held ?? Number.NaN,
          kernelIn: relay?.kernelIn ?? Number.NaN,
          kernelOut: relay?.kernelOut ?? Number.NaN,
          unreadUpstream: relay?.unreadUpstream ?? Number.NaN,
          waitingDrain: stats.streamsWaitingDrain,
          open: progress.open,
        });
      }),
    );
  });
  await Promise.all(pending);
  // The readers are gone: the relay must abort its upstream streams, which the mock then sees closing.
  await sleep(1000);
  const after = await mockStats(env);
  if (!final) throw new Error("slow readers printed no final line");
  const done = final as SlowReadersProgress;
  env.log(`slow readers ${arm}: ${done.open} open, ${done.closedEarly} closed early, ${done.errors} errors; mock: ${after.streamsOpen} streams open after`);
  return { arm, idle, snapshots, final: done, drainWaits: after.drainWaits - before.drainWaits, mockOpenAfter: after.streamsOpen };
}

async function run(env: BenchEnv): Promise<SectionResult> {
  const open: OpenStreamsResult[] = [];
  const slow: SlowResult[] = [];
  for (const arm of ARMS) open.push(await openStreams(env, arm));
  for (const arm of ARMS) slow.push(await slowReaders(env, arm));
  return {
    body: [
      [
        `**Open streams**: ${OPEN_STREAMS} streams of ${LONG_CHUNKS} chunks every 20 ms (10 s each) opened over ${RAMP_SECONDS} s by test/bench/stream-load.ts; VmRSS of the relay process from /proc/<pid>/status: idle (median of 5 samples), the highest sample (every 250 ms) from the first stream opening to the last ending, growth = (peak − idle) ÷ the most streams open at once at the mock × 1,000; then every 0.5 s for ${SETTLE_SECONDS} s after they ended.`,
        `**Slow readers**: ${SLOW_STREAMS} clients (test/bench/slow-readers.ts, raw sockets reading ${SLOW_RATE} B/s in reads of at most 1 KiB) of a ${BIG_CHUNKS}-chunk (~20 MB) unpaced stream, for ${SLOW_SECONDS} s. **Held** = response bytes the relay process has read from its upstream sockets but not yet written to its client sockets (from the sockets' tcp_info via \`ss -tinp\`: Σ received − unread upstream, minus Σ acknowledged + unacknowledged towards clients), i.e. what sits in undici's and uWS's buffers; snapshots every 0.5 s, steady state from ${SLOW_STEADY_AFTER_MS / 1000} s on. The kernel queues are the relay's sockets' own (not in its RSS). **Upstream reads paused**: the relay's upstream connections with unread bytes in the kernel (it stopped reading them); the mock's streams then wait for 'drain' once the kernel buffers on the way (MBs on loopback) are full.`,
      ].join("\n"),
      openTable(open),
      slowTable(slow),
    ],
    targets: targets(open, slow),
  };
}

function openTable(rows: OpenStreamsResult[]): string {
  const lines = [
    "| arm | idle RSS | peak RSS | most streams open | growth per 1,000 streams | RSS after | after ÷ idle | streams complete | errors | RSS after the load (s: MiB) | V8 heap used / total, external: idle → after |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
  ];
  for (const r of rows) {
    const last = r.after.at(-1)![1];
    const curve = r.after.filter(([t]) => Number.isInteger(t)).map(([t, rss]) => `${t}: ${(rss / 2 ** 20).toFixed(0)}`).join(", ");
    lines.push(
      `| ${r.arm} | ${mib(r.idle)} | ${mib(r.peak)} | ${r.mostOpen} | ${mib(perThousand(r))} | ${mib(last)} | ${(last / r.idle).toFixed(3)} | ${r.load.completed}/${r.load.streams} | ${r.load.errors} | ${curve} | ${r.arm === "gateway" ? `${heapText(r.heapIdle)} → ${heapText(r.heapAfter)}` : ""} |`,
    );
  }
  return lines.join("\n");
}

const perThousand = (r: OpenStreamsResult) => (r.mostOpen > 0 ? ((r.peak - r.idle) / r.mostOpen) * 1000 : Number.NaN);
const steady = (r: SlowResult) => r.snapshots.filter((s) => s.t >= SLOW_STEADY_AFTER_MS);
const heldPerStream = (r: SlowResult) => Math.max(...steady(r).map((s) => s.held)) / SLOW_STREAMS;

function slowTable(rows: SlowResult[]): string {
  const lines = [
    "| arm | held per stream (max) | held per stream (median) | relay kernel queues per stream (in / out) | upstream reads paused | mock streams waiting for drain | mock drain waits | open at the end | closed early | errors | mock streams left after | held per stream over time (s: KiB) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const s = steady(r);
    const last = s.at(-1);
    const perStream = (xs: number[]) => kib(median(xs) / SLOW_STREAMS);
    const curve = r.snapshots.filter((x) => x.t % 1000 < 500).map((x) => `${Math.round(x.t / 1000)}: ${(x.held / SLOW_STREAMS / 1024).toFixed(0)}`).join(", ");
    const error = r.final.firstError ? ` (\`${r.final.firstError.slice(0, 80)}\`)` : "";
    lines.push(
      `| ${r.arm} | ${kib(heldPerStream(r))} | ${perStream(s.map((x) => x.held))} | ${perStream(s.map((x) => x.kernelIn))} / ${perStream(s.map((x) => x.kernelOut))} | ${last?.unreadUpstream ?? "n/a"}/${SLOW_STREAMS} | ${last?.waitingDrain ?? "n/a"}/${SLOW_STREAMS} | ${r.drainWaits} | ${r.final.open} | ${r.final.closedEarly} | ${r.final.errors}${error} | ${r.mockOpenAfter} | ${curve} |`,
    );
  }
  return lines.join("\n");
}

function targets(open: OpenStreamsResult[], slow: SlowResult[]): Target[] {
  const list: Target[] = [];
  const g = open.find((r) => r.arm === "gateway");
  if (g) {
    const growth = perThousand(g);
    const ratio = g.after.at(-1)![1] / g.idle;
    list.push({ label: "gateway RSS growth ≤ 50 MB per 1,000 concurrent streams", value: mib(growth), pass: growth <= 50e6 });
    list.push({ label: `gateway RSS back within 10 % of idle ${SETTLE_SECONDS} s after the load`, value: `${(ratio * 100 - 100).toFixed(1)} %`, pass: ratio <= 1.1 });
  }
  const s = slow.find((r) => r.arm === "gateway");
  if (s) {
    const held = heldPerStream(s);
    const last = steady(s).at(-1);
    const paused = last?.unreadUpstream ?? 0;
    list.push({ label: "gateway buffers ≤ 256 KB per slow-reading stream (all streams still open)", value: kib(held), pass: held <= 256 * 1024 && s.final.open === SLOW_STREAMS });
    list.push({
      label: "the gateway stops reading upstream for every slow stream (unread bytes left in its socket), and the mock sees backpressure",
      value: `${paused}/${SLOW_STREAMS} paused, mock waiting for drain on ${last?.waitingDrain ?? 0}`,
      pass: paused === SLOW_STREAMS && s.drainWaits > 0,
    });
    list.push({ label: "when slow readers leave, the gateway ends their upstream streams", value: `${s.mockOpenAfter} left open at the mock`, pass: s.mockOpenAfter === 0 });
  }
  return list;
}

export const memoryStreamsSection: BenchSection = { id: "memory", title: "Memory under streams", models: MODELS, run };
