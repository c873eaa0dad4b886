// Old vs new batched admit/settle scripts on the same batches (16 same-principal requests each), interleaved.
import { Redis } from "ioredis";
import { createRedisAdmission } from "../data-plane/admission/redis-admission.ts";
import { batchArguments } from "../data-plane/admission/batched-script.ts";
import { ADMIT_MANY_SCRIPT, SETTLE_MANY_SCRIPT } from "../data-plane/admission/redis-admit-script.ts";
import { batchedScript as oldBatched } from "./old/batched-script.ts";
import { ADMIT_SCRIPT as OLD_ADMIT, SETTLE_SCRIPT as OLD_SETTLE } from "./old/redis-admit-script.ts";
import { startPrivateRedis } from "../test/support/private-redis.ts";

const redis = await startPrivateRedis();
const c = new Redis(redis.url);
await new Promise((r) => c.once("ready", r));
const BATCH = Number(process.env.BATCH ?? 16);
async function capture(prefix: string, start: number) {
  const admits: { numKeys: number; keysAndArgs: (string | number)[] }[] = [];
  const settles: typeof admits = [];
  const fake = Object.create(c);
  fake.tollgateAdmitMany = async (numKeys: number, ...ka: (string | number)[]) => { const [n] = [ka[numKeys]]; admits.push({ numKeys, keysAndArgs: [...ka.slice(0, numKeys), ...ka.slice(numKeys + 3)] }); return [[-1, 0, -1, 0, 0, -1, 0, 0]]; };
  fake.tollgateSettleMany = async (numKeys: number, ...ka: (string | number)[]) => { settles.push({ numKeys, keysAndArgs: [...ka.slice(0, numKeys), ...ka.slice(numKeys + 3)] }); return [1]; };
  fake.status = "ready";
  const admission = createRedisAdmission(fake, { timeoutMs: 5000, rateLimitFailMode: "closed", budgetFailMode: "closed", keyPrefix: prefix });
  const buckets = [
    { scope: "user:cost", requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgets: [{ period: "DAILY", capMicros: 10n ** 15n }] },
    { scope: "key:cost", requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgets: [{ period: "MONTHLY", capMicros: 10n ** 15n }] },
  ] as any;
  let now = start;
  for (let i = 0; i < 8000; i++) {
    now += 0.3; // ~3,300 requests per simulated second
    const r = await admission.admit(buckets, { tokens: 1000, micros: 2000n }, Math.floor(now));
    if (r.ok) await admission.settle(r.ticket, { tokens: 700, micros: 1400n });
  }
  return { admits, settles };
}
const t0 = Date.now();
const a = await capture("old:", t0), b = await capture("new:", t0);
const shas = {
  oldAdmit: (await c.script("LOAD", oldBatched(OLD_ADMIT))) as string,
  oldSettle: (await c.script("LOAD", oldBatched(OLD_SETTLE))) as string,
  newAdmit: (await c.script("LOAD", ADMIT_MANY_SCRIPT)) as string,
  newSettle: (await c.script("LOAD", SETTLE_MANY_SCRIPT)) as string,
};
const usec = { oldAdmit: 0, oldSettle: 0, newAdmit: 0, newSettle: 0 };
async function timed(name: keyof typeof usec, calls: typeof a.admits) {
  const before = (await redis.commandStats()).evalsha?.usec ?? 0;
  const { numKeys, keysAndArgs } = batchArguments(calls);
  const replies = await c.evalsha(shas[name], numKeys, ...keysAndArgs);
  usec[name] += ((await redis.commandStats()).evalsha?.usec ?? 0) - before;
  return replies;
}
for (let i = 0; i < a.admits.length; i += BATCH) {
  const ra = await timed("oldAdmit", a.admits.slice(i, i + BATCH));
  const rb = await timed("newAdmit", b.admits.slice(i, i + BATCH));
  if (JSON.stringify(ra) !== JSON.stringify(rb)) throw new Error(`replies differ at ${i}: ${JSON.stringify(ra)} vs ${JSON.stringify(rb)}`);
  await timed("oldSettle", a.settles.slice(i, i + BATCH));
  await timed("newSettle", b.settles.slice(i, i + BATCH));
}
const n = a.admits.length;
console.log(`batch ${BATCH}, ${n} requests: admit µs/request old ${(usec.oldAdmit / n).toFixed(1)} new ${(usec.newAdmit / n).toFixed(1)}; settle µs/request old ${(usec.oldSettle / n).toFixed(1)} new ${(usec.newSettle / n).toFixed(1)}`);
// Same final state for both prefixes?
const dump = async (p: string) => { const keys = (await c.keys(`${p}*`)).sort(); const out: any = {}; for (const k of keys) out[k.slice(p.length)] = (await c.type(k)) === "hash" ? await c.hgetall(k) : await c.get(k); return out; };
const [da, db] = [await dump("old:"), await dump("new:")];
console.log("final state equal:", JSON.stringify(da) === JSON.stringify(db), Object.keys(da).length, "keys");
c.disconnect(); await redis.stop();
