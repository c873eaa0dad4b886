// SSE load client (own process): N concurrent streamed chat completions in a closed loop; prints one JSON line with
// time to first content chunk, gaps between chunks, stalls, completions, errors and a digest of the bytes received.
//   node --import tsx test/bench/stream-load.ts --url http://127.0.0.1:PORT/v1/chat/completions --model M [--key K]
//        [--streams 100] [--seconds 3] [--warmup-seconds 0.5] [--format openai|anthropic] [--include-usage]
//        [--max-tokens N] [--pacing-ms P] [--stall-ms 100] [--max-gap-samples 200000] [--ramp-seconds 0]
//
// Definitions (all times from performance.now() in the response callbacks, nothing decoded per chunk):
// - a chunk is one body `data` callback of undici (what one socket read delivered), not one SSE event;
// - time to first content chunk: from dispatching the request to the first chunk holding a non-empty content delta
//   (OpenAI `"content":"x`, Anthropic `"text_delta"`), so it includes the mock's time to first token and pacing;
// - gaps: between consecutive chunks of one stream from its first content chunk on; sampled uniformly (reservoir) past
//   --max-gap-samples, while the count, maximum and stalls cover every gap;
// - stall: a gap longer than pacing + --stall-ms (pacing: --pacing-ms, else the model name's `delay-N`, else 0);
// - a stream is measured when it starts after the warm-up and before the window ends; each one runs to its end;
// - --ramp-seconds spreads the N first streams evenly over that time (else all N requests leave at once);
// - digests: md5 of each completed stream's body → how many streams had it (one entry when every stream got the
//   same bytes; compare it across arms), and the first measured stream's body as text for diffing.
import { createHash, type Hash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { parseArgs } from "node:util";
import { type Dispatcher, Pool } from "undici";
import { addHeaderFlags } from "./header-flags.ts";
import { mockPacingMs } from "./mock-pacing.ts";

export interface StreamLoadResult {
  /** Per measured stream that got content: request → first content chunk (µs). */
  ttftUs: number[];
  /** Per measured stream that answered: request → response headers (µs). */
  headersUs: number[];
  /** Gaps between consecutive chunks (µs), sampled when there are more than maxGapSamples. */
  gapUs: number[];
  gapCount: number;
  maxGapUs: number;
  stalls: number;
  stallThresholdMs: number;
  /** Every stream started, warm-up included (to divide a relay's CPU time by). */
  started: number;
  /** Measured streams started, and those that ended complete (status 200 and the format's final event). */
  streams: number;
  completed: number;
  errors: number;
  firstError: string | null;
  /** Body chunks and bytes of the measured streams. */
  chunks: number;
  bytes: number;
  digests: Record<string, number>;
  sampleBody: string | null;
  /** From the first measured start to the last measured end (ms). */
  windowMs: number;
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    model: { type: "string" },
    key: { type: "string", default: "sk-bench" },
    streams: { type: "string", default: "100" },
    seconds: { type: "string", default: "3" },
    "warmup-seconds": { type: "string", default: "0.5" },
    format: { type: "string", default: "openai" },
    "include-usage": { type: "boolean", default: false },
    "max-tokens": { type: "string", default: "100000" },
    "pacing-ms": { type: "string" },
    "stall-ms": { type: "string", default: "100" },
    "max-gap-samples": { type: "string", default: "200000" },
    "ramp-seconds": { type: "string", default: "0" },
    // Extra request headers (repeatable), e.g. a peer gateway's routing headers.
    header: { type: "string", multiple: true, default: [] },
  },
});
if (!values.url || !values.model || (values.format !== "openai" && values.format !== "anthropic")) {
  console.error("--url and --model are required; --format is openai or anthropic");
  process.exit(2);
}

const anthropic = values.format === "anthropic";
const target = new URL(values.url);
const streams = Number(values.streams);
const pacingMs = values["pacing-ms"] !== undefined ? Number(values["pacing-ms"]) : mockPacingMs(values.model);
const stallThresholdMs = pacingMs + Number(values["stall-ms"]);
const maxGapSamples = Number(values["max-gap-samples"]);

const request = {
  model: values.model,
  max_tokens: Number(values["max-tokens"]),
  stream: true,
  ...(values["include-usage"] && !anthropic ? { stream_options: { include_usage: true } } : {}),
  messages: [{ role: "user", content: "Hello" }],
};
const body = JSON.stringify(request);
const headers: Record<string, string> = anthropic
  ? { "x-api-key": values.key!, "anthropic-version": "2023-06-01", "content-type": "application/json" }
  : { authorization: `Bearer ${values.key}`, "content-type": "application/json" };
addHeaderFlags(headers, values.header);
const dispatchOptions: Dispatcher.DispatchOptions = { origin: target.origin, path: target.pathname, method: "POST", headers, body };

/** OpenAI: a content delta with at least one character; Anthropic: any text delta. */
const CONTENT = Buffer.from(anthropic ? '"text_delta"' : '"content":"');
const QUOTE = 0x22;
const FINAL = Buffer.from(anthropic ? "event: message_stop" : "data: [DONE]");
/** The final event's marker starts within this many bytes of the end. */
const FINAL_WINDOW = 128;

const pool = new Pool(target.origin, { connections: streams, pipelining: 1, keepAliveTimeout: 30_000 });

const start = performance.now();
const measureFrom = start + Number(values["warmup-seconds"]) * 1000;
const stopAt = measureFrom + Number(values.seconds) * 1000;
const result: StreamLoadResult = {
  ttftUs: [],
  headersUs: [],
  gapUs: [],
  gapCount: 0,
  maxGapUs: 0,
  stalls: 0,
  stallThresholdMs,
  started: 0,
  streams: 0,
  completed: 0,
  errors: 0,
  firstError: null,
  chunks: 0,
  bytes: 0,
  digests: {},
  sampleBody: null,
  windowMs: 0,
};
let firstStart = Number.POSITIVE_INFINITY;
let lastEnd = 0;
let sampleTaken = false;

function hasContent(chunk: Buffer): boolean {
  if (anthropic) return chunk.indexOf(CONTENT) !== -1;
  for (let at = chunk.indexOf(CONTENT); at !== -1; at = chunk.indexOf(CONTENT, at + CONTENT.length)) {
    // A marker at the very end of a chunk has its first character in the next one: count it there.
    const next = chunk[at + CONTENT.length];
    if (next !== undefined && next !== QUOTE) return true;
  }
  return false;
}

function recordGap(gapMs: number): void {
  const gapUs = Math.round(gapMs * 1000);
  result.gapCount++;
  if (gapUs > result.maxGapUs) result.maxGapUs = gapUs;
  if (gapMs > stallThresholdMs) result.stalls++;
  if (result.gapUs.length < maxGapSamples) result.gapUs.push(gapUs);
  else {
    const slot = Math.floor(Math.random() * result.gapCount);
    if (slot < maxGapSamples) result.gapUs[slot] = gapUs;
  }
}

function fail(message: string): void {
  result.errors++;
  result.firstError ??= message;
}

/** One stream: undici's dispatch handler (no Readable in between), settling `done` when the stream ends either way. */
class StreamRun implements Dispatcher.DispatchHandler {
  private readonly t0 = performance.now();
  private readonly measured: boolean;
  private status = 0;
  private last = 0;
  private sawContent = false;
  private readonly hash: Hash | null;
  private readonly kept: Buffer[] | null;
  private tail: Buffer | null = null;
  private previous: Buffer | null = null;
  private errorText = "";
  readonly done: Promise<void>;
  private settle!: () => void;

  constructor() {
    this.measured = this.t0 >= measureFrom && this.t0 < stopAt;
    result.started++;
    this.hash = this.measured ? createHash("md5") : null;
    this.kept = this.measured && !sampleTaken ? [] : null;
    if (this.kept !== null) sampleTaken = true;
    if (this.measured) {
      result.streams++;
      if (this.t0 < firstStart) firstStart = this.t0;
    }
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
    if (this.measured && statusCode === 200) result.headersUs.push(Math.round((performance.now() - this.t0) * 1000));
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const now = performance.now();
    if (!this.measured) return;
    if (this.status !== 200) {
      if (this.errorText.length < 300) this.errorText += chunk.toString("utf8", 0, Math.min(chunk.length, 300));
      return;
    }
    result.chunks++;
    result.bytes += chunk.length;
    this.hash!.update(chunk);
    this.kept?.push(chunk);
    this.previous = this.tail;
    this.tail = chunk;
    if (this.sawContent) recordGap(now - this.last);
    else if (hasContent(chunk)) {
      this.sawContent = true;
      result.ttftUs.push(Math.round((now - this.t0) * 1000));
    }
    this.last = now;
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, _trailers: IncomingHttpHeaders): void {
    if (this.measured) this.finish();
    this.settle();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.measured) fail(error.message);
    this.settle();
  }

  private finish(): void {
    lastEnd = Math.max(lastEnd, performance.now());
    if (this.status !== 200) return fail(`HTTP ${this.status}: ${this.errorText.slice(0, 200)}`);
    if (this.tail === null) return fail("empty 200 body");
    // The format's final event ends the stream: look for it in the last bytes (it may straddle two chunks).
    const end = this.previous === null ? this.tail! : Buffer.concat([this.previous, this.tail!]);
    if (end.indexOf(FINAL, Math.max(0, end.length - FINAL_WINDOW)) === -1) return fail(`stream ended without its final event: …${end.toString("utf8").slice(-120)}`);
    result.completed++;
    const digest = this.hash!.digest("hex");
    result.digests[digest] = (result.digests[digest] ?? 0) + 1;
    if (this.kept !== null) result.sampleBody = Buffer.concat(this.kept).toString("utf8");
  }
}

const rampMs = Number(values["ramp-seconds"]) * 1000;

async function worker(index: number): Promise<void> {
  if (rampMs > 0) await new Promise((resolve) => setTimeout(resolve, (index / streams) * rampMs));
  while (performance.now() < stopAt) {
    const run = new StreamRun();
    pool.dispatch(dispatchOptions, run);
    await run.done;
  }
}

await Promise.all(Array.from({ length: streams }, (_, i) => worker(i)));
result.windowMs = lastEnd > firstStart ? lastEnd - firstStart : 0;
await pool.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
