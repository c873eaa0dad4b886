// Runs the mock provider as its own process, so benchmarks do not share an event loop with it:
//   npx tsx test/support/mock-provider-main.ts --port 9100 [--host 127.0.0.1] [--chunks 64] [--delay-ms 0] [--ttfb-ms 0]
//                                              [--cached-tokens 0] [--require-credential KEY] [--record]
// Port and host also come from MOCK_PROVIDER_PORT / MOCK_PROVIDER_HOST (default: a free port on 127.0.0.1).
// Prints the URL as its first stdout line; on SIGINT/SIGTERM prints its stats to stderr and exits.
import { parseArgs } from "node:util";
import { type MockBehavior, startMockProvider } from "./mock-provider.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    chunks: { type: "string" },
    "delay-ms": { type: "string" },
    "ttfb-ms": { type: "string" },
    "cached-tokens": { type: "string" },
    "require-credential": { type: "string" },
    // Off by default: a long benchmark would otherwise keep every request in memory.
    record: { type: "boolean", default: false },
  },
});

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${flag} must be a non-negative integer, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const defaults: Partial<MockBehavior> = {};
const chunks = number("--chunks", values.chunks);
const delayMs = number("--delay-ms", values["delay-ms"]);
const ttfbMs = number("--ttfb-ms", values["ttfb-ms"]);
const cachedTokens = number("--cached-tokens", values["cached-tokens"]);
if (chunks !== undefined) defaults.chunks = chunks;
if (delayMs !== undefined) defaults.delayMs = delayMs;
if (ttfbMs !== undefined) defaults.ttfbMs = ttfbMs;
if (cachedTokens !== undefined) defaults.cachedTokens = cachedTokens;

const mock = await startMockProvider({
  port: number("--port", values.port ?? process.env.MOCK_PROVIDER_PORT) ?? 0,
  host: values.host ?? process.env.MOCK_PROVIDER_HOST ?? "127.0.0.1",
  defaults,
  requireCredential: values["require-credential"],
  record: values.record,
});
console.log(mock.url);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`mock provider stats: ${JSON.stringify(mock.stats)}`);
  await mock.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
