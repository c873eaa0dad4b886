// Background load (own process): non-streamed chat completions at a steady rate (open loop: one request every 1/rate s,
// at most `concurrency` in flight) until SIGTERM, then one JSON line {requests, errors, firstError, late}. Prints
// "steady load running" once the first answer arrived.
//   node --import tsx test/bench/steady-load.ts --url http://127.0.0.1:PORT --model M --key K [--rate 100] [--concurrency 32]
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values } = parseArgs({
  options: { url: { type: "string" }, model: { type: "string" }, key: { type: "string" }, rate: { type: "string", default: "100" }, concurrency: { type: "string", default: "32" } },
});
if (!values.url || !values.model || !values.key) {
  console.error("--url, --model and --key are required");
  process.exit(2);
}
const concurrency = Number(values.concurrency);
const pool = new Pool(values.url, { connections: concurrency });
const body = JSON.stringify({ model: values.model, max_tokens: 8, messages: [{ role: "user", content: "Hello" }] });
const headers = { authorization: `Bearer ${values.key}`, "content-type": "application/json" };
const result = { requests: 0, errors: 0, firstError: null as string | null, late: 0 };
const interval = 1000 / Number(values.rate);
let inFlight = 0;
let announced = false;

async function one(): Promise<void> {
  inFlight++;
  try {
    const res = await pool.request({ path: "/v1/chat/completions", method: "POST", headers, body });
    const text = await res.body.text();
    result.requests++;
    if (res.statusCode !== 200) {
      result.errors++;
      result.firstError ??= `HTTP ${res.statusCode}: ${text.slice(0, 200)}`;
    } else if (!announced) {
      announced = true;
      console.log("steady load running");
    }
  } catch (error) {
    result.errors++;
    result.firstError ??= (error as Error).message;
  } finally {
    inFlight--;
  }
}

// Sends on schedule; a slot that finds every connection busy is counted late and skipped, so a slow gateway is not
// hidden by a queue growing here.
const started = performance.now();
let sent = 0;
const timer = setInterval(() => {
  const due = Math.floor((performance.now() - started) / interval);
  for (; sent < due; sent++) {
    if (inFlight >= concurrency) result.late++;
    else void one();
  }
}, Math.max(1, Math.floor(interval)));

process.on("SIGTERM", () => {
  clearInterval(timer);
  const finish = async () => {
    while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    await pool.close();
    process.exit(0);
  };
  void finish();
});
