// Standalone micro-benchmark (not a bench section): finding every OpenAI content marker and usage key in a 500-event
// stream (as the gateway reads it upstream, with include_usage) by ByteNeedle and by Buffer.indexOf.
// Run: taskset -c 0 npx tsx test/bench/needle-cost.ts
import { ByteNeedle } from "../../data-plane/providers/byte-needle.ts";

const event = (i: number) =>
  `data: {"id":"chatcmpl-mock_stable","object":"chat.completion.chunk","created":1700000000,"model":"mock-chunks-500-stable","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"tok${i} "},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`;
const stream = Buffer.from(Array.from({ length: 500 }, (_, i) => event(i)).join(""));
const reads: Buffer[] = [];
for (let at = 0; at < stream.length; at += 10_000) reads.push(stream.subarray(at, at + 10_000));

function perStream(find: (buf: Buffer, from: number) => number, length: number): number {
  const once = () => {
    let found = 0;
    for (const buf of reads) for (let at = find(buf, 0); at !== -1; at = find(buf, at + length)) found++;
    return found;
  };
  for (let i = 0; i < 200; i++) once();
  const RUNS = 500;
  const started = process.hrtime.bigint();
  for (let i = 0; i < RUNS; i++) once();
  return Number(process.hrtime.bigint() - started) / RUNS / 1000;
}

for (const text of ['content":"', '"usage"']) {
  const needle = new ByteNeedle(text);
  const bytes = Buffer.from(text);
  const byNeedle = perStream((buf, from) => needle.indexIn(buf, from), needle.length);
  const byIndexOf = perStream((buf, from) => buf.indexOf(bytes, from), bytes.length);
  console.log(`${text.padEnd(12)} ByteNeedle ${byNeedle.toFixed(0).padStart(4)} µs per stream, Buffer.indexOf ${byIndexOf.toFixed(0).padStart(4)} µs per stream`);
}
