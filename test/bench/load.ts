// Load generator (own process): closed loop of undici Pool requests at a fixed concurrency; prints latency samples (µs) and RPS as JSON.
//   node --import tsx test/bench/load.ts --url http://127.0.0.1:PORT/v1/chat/completions --model M [--key K]
//                                        [--concurrency 64] [--seconds 3] [--warmup-seconds 0.5] [--header "name: value" ...]
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { addHeaderFlags } from "./header-flags.ts";

export interface LoadResult {
  /** Latency of every measured request (after warm-up), in microseconds. */
  samplesUs: number[];
  /** Non-200 answers and transport errors during the measured window. */
  errors: number;
  firstError: string | null;
  /** Length of the measured window (ms). */
  windowMs: number;
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    model: { type: "string" },
    key: { type: "string", default: "sk-bench" },
    concurrency: { type: "string", default: "64" },
    seconds: { type: "string", default: "3" },
    "warmup-seconds": { type: "string", default: "0.5" },
    // Extra request headers (repeatable), e.g. a peer gateway's routing headers.
    header: { type: "string", multiple: true, default: [] },
  },
});
if (!values.url || !values.model) {
  console.error("--url and --model are required");
  process.exit(2);
}

const target = new URL(values.url);
const concurrency = Number(values.concurrency);
const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
const body = JSON.stringify({ model: values.model, max_tokens: 16, messages: [{ role: "user", content: "Hello" }] });
const headers: Record<string, string> = { authorization: `Bearer ${values.key}`, "content-type": "application/json" };
addHeaderFlags(headers, values.header);

const start = performance.now();
const measureFrom = start + Number(values["warmup-seconds"]) * 1000;
const stopAt = measureFrom + Number(values.seconds) * 1000;
const result: LoadResult = { samplesUs: [], errors: 0, firstError: null, windowMs: 0 };

async function worker(): Promise<void> {
  for (;;) {
    const t0 = performance.now();
    if (t0 >= stopAt) return;
    let failure: string | null = null;
    try {
      const res = await pool.request({ path: target.pathname, method: "POST", headers, body });
      const text = await res.body.text();
      if (res.statusCode !== 200) failure = `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    const t1 = performance.now();
    if (t0 < measureFrom || t1 > stopAt) continue;
    if (failure !== null) {
      result.errors++;
      result.firstError ??= failure;
    } else result.samplesUs.push(Math.round((t1 - t0) * 1000));
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
result.windowMs = stopAt - measureFrom;
await pool.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
