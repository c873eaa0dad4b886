// Which part of the admit script costs Redis the time: replays captured admit args against script variants.
import { Redis } from "ioredis";
import { createRedisAdmission } from "../data-plane/admission/redis-admission.ts";
import { batchedScript } from "../data-plane/admission/batched-script.ts";
import { ADMIT_SCRIPT } from "../data-plane/admission/redis-admit-script.ts";
import { startPrivateRedis } from "../test/support/private-redis.ts";

const redis = await startPrivateRedis();
const c = new Redis(redis.url);
await new Promise((r) => c.once("ready", r));
const captured: (string | number)[][] = [];
(c as any).tollgateAdmitMany = async (numKeys: number, ...ka: (string | number)[]) => { captured.push([numKeys, ...ka]); return [[-1, 0, -1, 0, 0, -1, 0, 0]]; };
(c as any).tollgateSettleMany = async () => [1];
const admission = createRedisAdmission(c, { timeoutMs: 5000, rateLimitFailMode: "closed", budgetFailMode: "closed", keyPrefix: "x:" });
const buckets = [
  { scope: "user:cost", requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgets: [{ period: "DAILY", capMicros: 10n ** 15n }] },
  { scope: "key:cost", requestsPerMinute: 1_000_000, tokensPerMinute: 1_000_000_000, budgets: [{ period: "MONTHLY", capMicros: 10n ** 15n }] },
] as any;
let now = Date.now();
for (let i = 0; i < 3000; i++) { now += 3; await admission.admit(buckets, { tokens: 1000, micros: 2000n }, now); }
console.log("sample args", JSON.stringify(captured[0]));
const T = "local __t = redis.call('TIME') __marks[#__marks + 1] = tonumber(__t[1]) * 1000000 + tonumber(__t[2])\n";
let timed = ADMIT_SCRIPT.replace("local W = 60", "local __marks = {}\n" + T + "local W = 60");
for (const at of ["local failed = -1", "-- Budgets last", "local admitted = failed", "-- The x-ratelimit", "local rLimit"]) timed = timed.replace(at, T + at);
timed = timed.replace("return { failed, waitMs, rLimit, rRemaining, rReset, tLimit, tRemaining, tReset }", T + "local __d = {} for i = 2, #__marks do __d[i - 1] = __marks[i] - __marks[i - 1] end return __d");
const sums: number[] = [];
const timedSha = (await c.script("LOAD", timed)) as string;
for (const args of captured) {
  const [n, ...rest] = args; const nk = Number(n);
  const d = (await c.evalsha(timedSha, nk, ...rest.slice(0, nk), ...rest.slice(nk + 3))) as number[];
  d.forEach((v, i) => (sums[i] = (sums[i] ?? 0) + v));
}
console.log("timed phases (µs/call): start→checks loop, checks loop, budgets, writes, tightest-def, tightest:", sums.map((v) => (v / captured.length).toFixed(1)).join(", "));
const variants: Record<string, string> = {
  full: batchedScript(ADMIT_SCRIPT),
  single_unbatched: ADMIT_SCRIPT,
  return_only: batchedScript("return {-1,0,-1,0,0,-1,0,0}"),
  ten_exists: batchedScript("for i = 1, 10 do redis.call('EXISTS', KEYS[1]) end return {-1,0,-1,0,0,-1,0,0}"),
  ten_hmget: batchedScript("for i = 1, 10 do redis.call('HMGET', KEYS[1], 'n', 'l', 'c', 'o', 'w') end return {-1,0,-1,0,0,-1,0,0}"),

};
for (const [name, lua] of Object.entries(variants)) {
  const sha = (await c.script("LOAD", lua)) as string;
  await c.call("CONFIG", "RESETSTAT");
  const t0 = performance.now();
  for (const args of captured) {
    if (name === "single_unbatched") {
      const [n, ...rest] = args; // batch layout: keys, then n=1, keyCount, argCount, args
      const nk = Number(n); const keys = rest.slice(0, nk); const argv = rest.slice(nk + 3);
      await c.evalsha(sha, nk, ...keys, ...argv);
    } else await c.evalsha(sha, ...(args as [number, ...string[]]));
  }
  const wall = (performance.now() - t0) * 1000 / captured.length;
  const stats = await redis.commandStats();
  const inner = Object.entries(stats).filter(([k]) => !["evalsha", "config|resetstat", "config"].includes(k)).reduce((a, [, v]) => a + v.usec, 0);
  console.log(`${name}: evalsha ${(stats.evalsha!.usec / stats.evalsha!.calls).toFixed(1)} µs/call, inner commands ${(inner / captured.length).toFixed(1)} µs/call, client round trip ${wall.toFixed(0)} µs`);
}
c.disconnect(); await redis.stop();
