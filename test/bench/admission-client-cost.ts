// Standalone micro-benchmark (not a bench section): the gateway-side CPU of sending one batched admission EVALSHA
// through ioredis, with each request's args packed into one string (batched-script.ts) against the layout before
// (every arg its own RESP argument). The script is `return 1`, so only the client's encoding and I/O are measured.
// Run: taskset -c 0 npx tsx test/bench/admission-client-cost.ts   (a private redis-server; nothing shared is touched)
import { batchArguments, packCall, type ScriptCall } from "../../data-plane/admission/batched-script.ts";
import { startPrivateRedis } from "../support/private-redis.ts";

const own = await startPrivateRedis();
const redis = own.client;
redis.defineCommand("noop", { lua: "return 1" });
const send = (numKeys: number, keysAndArgs: (string | number)[]) => (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>).noop!(numKeys, ...keysAndArgs);

const key = (i: number) => `tollgate:{user:0b8a3c52-3a5e-4d3f-9a57-2f7a0f6a000${i}}:user:0b8a3c52-3a5e-4d3f-9a57-2f7a0f6a000${i}:rpm`;
// What admit and settle send per request (redis-admission.ts): three and two counter keys, then their args.
const ADMIT: ScriptCall = { keys: [key(1), key(2), key(3)], args: [29_999_999, Date.now(), 1200, "34000", "AbCdEfGh.123456", 600_000, 180_000, "r", 1000, 0, "t", 100_000, 0, "b", "100000000", 1_767_225_600_000] };
const SETTLE: ScriptCall = { keys: [key(2), key(3)], args: [29_999_999, 29_999_999, -300, "-5000", "29000", "AbCdEfGh.123456", 180_000, "t", 0, "b", 1_767_225_600_000] };

/** The layout before packing: keys, n, (key count, arg count) per request, then every arg on its own. */
function loose(calls: ScriptCall[]): { numKeys: number; keysAndArgs: (string | number)[] } {
  const keysAndArgs: (string | number)[] = [];
  for (const c of calls) keysAndArgs.push(...c.keys);
  const numKeys = keysAndArgs.length;
  keysAndArgs.push(calls.length);
  for (const c of calls) keysAndArgs.push(c.keys.length, c.args.length);
  for (const c of calls) keysAndArgs.push(...c.args);
  return { numKeys, keysAndArgs };
}
const packed = (calls: ScriptCall[]) => batchArguments(calls.map(packCall));

async function measure(label: string, call: ScriptCall, size: number, layout: typeof loose): Promise<void> {
  const calls = Array.from({ length: size }, () => call);
  const once = () => {
    const { numKeys, keysAndArgs } = layout(calls);
    return send(numKeys, keysAndArgs);
  };
  for (let i = 0; i < 500; i++) await once();
  const BATCHES = 8000;
  const before = process.cpuUsage();
  // Eight in flight, as several loop turns' batches would be.
  for (let i = 0; i < BATCHES / 8; i++) await Promise.all(Array.from({ length: 8 }, once));
  const used = process.cpuUsage(before);
  const perBatch = (used.user + used.system) / BATCHES;
  console.log(`${label} batch of ${String(size).padStart(2)}: ${perBatch.toFixed(1).padStart(6)} µs per batch, ${(perBatch / size).toFixed(1).padStart(5)} µs per request`);
}

for (const [name, call] of [["admit ", ADMIT], ["settle", SETTLE]] as const) {
  for (const size of [1, 4, 16]) {
    await measure(`${name} loose `, call, size, loose);
    await measure(`${name} packed`, call, size, packed);
  }
}
await own.stop();
