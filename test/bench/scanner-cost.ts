// Standalone micro-benchmark (not a bench section): CPU of the OpenAI SSE usage scanner over one 500-chunk stream,
// hiding the injected usage or not. Run: npx tsx test/bench/scanner-cost.ts
import { adapterFor } from "../../data-plane/providers/registry.ts";
const chunk = (i: number) => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"mock","choices":[{"index":0,"delta":{"content":"tok${i} "},"finish_reason":null}],"usage":null}\n\n`;
let body = "";
for (let i = 0; i < 500; i++) body += chunk(i);
body += `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"mock","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":500,"total_tokens":505}}\n\ndata: [DONE]\n\n`;
const bytes = Buffer.from(body);
const pieces: Buffer[] = [];
for (let i = 0; i < bytes.length; i += 16384) pieces.push(bytes.subarray(i, i + 16384));
for (const hide of [true, false]) {
  const run = () => { const s = adapterFor("openai")!.usageScanner("chat", true, hide); for (const p of pieces) s.push(p); s.flush(); return s; };
  for (let i = 0; i < 200; i++) run();
  const t0 = performance.now(); const N = 2000;
  for (let i = 0; i < N; i++) run();
  console.log(`hide=${hide}: ${((performance.now() - t0) * 1000 / N).toFixed(1)} µs per 500-chunk stream (${bytes.length} bytes, ${pieces.length} reads)`, run().usage());
}
