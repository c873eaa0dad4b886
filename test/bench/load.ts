// Load generator (own process): undici Pool requests, closed loop at a fixed concurrency, or open loop at a fixed
// arrival rate (--rate); prints latency samples (µs) and RPS as JSON.
//   node --import tsx test/bench/load.ts --url http://127.0.0.1:PORT/v1/chat/completions --model M [--key K]
//                                        [--concurrency 64] [--rate R] [--seconds 3] [--warmup-seconds 0.5] [--header "name: value" ...]
//                                        [--cpu name=pid,pid ...] [--body-kb 200]
// Open loop: request i is due at start + i/R whatever the earlier ones are doing, so a server that falls behind cannot
// slow the arrivals down (no coordinated omission). Its latency counts from when it was handed to the pool (timers
// fire up to ~1 ms late, which is the generator's delay, not the server's); --concurrency caps the connections, and a
// request queued in the pool behind them counts its wait. How late the sends were is reported (sendLagP99Us).
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { type CoreShare, coreShares, coreTicks } from "./core-usage.ts";
import { addHeaderFlags } from "./header-flags.ts";
import { largeChatBody } from "./large-body.ts";
import { cpuSecondsBetween, cpuSecondsByPid } from "./proc-stats.ts";

export interface LoadResult {
  /** Latency of every measured request (after warm-up), in microseconds. */
  samplesUs: number[];
  /** Non-200 answers and transport errors during the measured window. */
  errors: number;
  firstError: string | null;
  /** Length of the measured window (ms). */
  windowMs: number;
  /** Open loop only: p99 of how long after its due time a request was sent (µs); large means the generator lagged. */
  sendLagP99Us?: number;
  /** How busy each core was during the measured window (machine-wide), so a reader can see which side saturated. */
  cores: CoreShare[];
  /** CPU seconds each --cpu group of processes used during the measured window; "load generator" is this process. */
  cpuSeconds: Record<string, number>;
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    model: { type: "string" },
    key: { type: "string", default: "sk-bench" },
    concurrency: { type: "string", default: "64" },
    rate: { type: "string" },
    seconds: { type: "string", default: "3" },
    "warmup-seconds": { type: "string", default: "0.5" },
    // A request body of about this many KB, shaped like a coding agent's (test/bench/large-body.ts), instead of a one-line chat.
    "body-kb": { type: "string" },
    // Extra request headers (repeatable), e.g. a peer gateway's routing headers.
    header: { type: "string", multiple: true, default: [] },
    // Processes whose CPU time in the measured window is reported (repeatable): "gateway=123", "postgres=4,5,6".
    cpu: { type: "string", multiple: true, default: [] },
  },
});
if (!values.url || !values.model) {
  console.error("--url and --model are required");
  process.exit(2);
}

const target = new URL(values.url);
const concurrency = Number(values.concurrency);
const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
const body =
  values["body-kb"] === undefined
    ? JSON.stringify({ model: values.model, max_tokens: 16, messages: [{ role: "user", content: "Hello" }] })
    : largeChatBody(values.model, Number(values["body-kb"]) * 1024);
const headers: Record<string, string> = { authorization: `Bearer ${values.key}`, "content-type": "application/json" };
addHeaderFlags(headers, values.header);

const start = performance.now();
const measureFrom = start + Number(values["warmup-seconds"]) * 1000;
const stopAt = measureFrom + Number(values.seconds) * 1000;
const result: LoadResult = { samplesUs: [], errors: 0, firstError: null, windowMs: 0, cores: [], cpuSeconds: {} };

const cpuGroups = values.cpu.map((flag) => {
  const [name, list] = flag.split("=");
  return { name: name!, pids: (list ?? "").split(",").map(Number).filter((pid) => pid > 0) };
});
interface Reading {
  cores: ReturnType<typeof coreTicks>;
  groups: Map<number, number>[];
  /** This process's own CPU seconds. */
  own: number;
}
function read(): Reading {
  const own = process.cpuUsage();
  return { cores: coreTicks(), groups: cpuGroups.map((g) => cpuSecondsByPid(g.pids)), own: (own.user + own.system) / 1e6 };
}
// The measured window's readings are taken on timers, not by the workers, so they cost the load nothing extra.
let windowStart = read();
let windowEnd: Reading | null = null;
setTimeout(() => (windowStart = read()), measureFrom - performance.now());
// The last worker may finish before this timer's turn comes; then the reading after the load stands in for it.
const windowEndTimer = setTimeout(() => (windowEnd = read()), stopAt - performance.now());

/** One request; resolves with why it failed (non-200 answer or transport error), or null. */
async function send(): Promise<string | null> {
  try {
    const res = await pool.request({ path: target.pathname, method: "POST", headers, body });
    const text = await res.body.text();
    return res.statusCode === 200 ? null : `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
  } catch (error) {
    return (error as Error).message;
  }
}

function record(failure: string | null, latencyMs: number): void {
  if (failure !== null) {
    result.errors++;
    result.firstError ??= failure;
  } else result.samplesUs.push(Math.round(latencyMs * 1000));
}

async function worker(): Promise<void> {
  for (;;) {
    const t0 = performance.now();
    if (t0 >= stopAt) return;
    const failure = await send();
    const t1 = performance.now();
    if (t0 >= measureFrom && t1 <= stopAt) record(failure, t1 - t0);
  }
}

const sendLagsUs: number[] = [];

/** One request due at `due` (performance.now() ms), counted when it was due inside the measured window. */
async function openLoopRequest(due: number): Promise<void> {
  const sent = performance.now();
  const measured = due >= measureFrom && due < stopAt;
  if (measured) sendLagsUs.push(Math.round((sent - due) * 1000));
  const failure = await send();
  if (measured) record(failure, performance.now() - sent);
}

/** Sends every request that has come due, then sleeps until the next one; waits for the last answers at the end. */
async function openLoop(rate: number): Promise<void> {
  const interval = 1000 / rate;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; ; ) {
    const now = performance.now();
    for (let due = start + i * interval; due <= now; due = start + ++i * interval) {
      if (due >= stopAt) {
        await Promise.all(inFlight);
        return;
      }
      const sent = openLoopRequest(due);
      inFlight.add(sent);
      void sent.finally(() => inFlight.delete(sent));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + i * interval - performance.now())));
  }
}

if (values.rate !== undefined) {
  await openLoop(Number(values.rate));
  sendLagsUs.sort((a, b) => a - b);
  result.sendLagP99Us = sendLagsUs[Math.floor(sendLagsUs.length * 0.99)] ?? 0;
} else await Promise.all(Array.from({ length: concurrency }, worker));
result.windowMs = stopAt - measureFrom;
clearTimeout(windowEndTimer);
const end = windowEnd ?? read();
result.cores = coreShares(windowStart.cores, end.cores);
for (let i = 0; i < cpuGroups.length; i++) result.cpuSeconds[cpuGroups[i]!.name] = cpuSecondsBetween(windowStart.groups[i]!, end.groups[i]!);
result.cpuSeconds["load generator"] = end.own - windowStart.own;
await pool.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
