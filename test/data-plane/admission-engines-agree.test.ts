// The Redis scripts and the in-process engine implement the same rules twice: on random traffic (simulated clock,
// random limits, settles bigger and smaller than the reservation, pauses longer than a window) they must give the same
// verdicts, Retry-After and x-ratelimit-* headers, request for request, also when a request limit moves between the
// per-second counter and the exact log (the log then takes the counter's history).
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { Admission, AdmissionTicket, AdmitResult, Bucket } from "../../data-plane/contracts.ts";
import { createAdmissionRedis } from "../../data-plane/admission/admission-redis.ts";
import { createMemoryAdmission } from "../../data-plane/admission/memory-admission.ts";
import { createRedisAdmission } from "../../data-plane/admission/redis-admission.ts";
import { redisUrl } from "../support/database.ts";

let redis: Redis;
beforeAll(async () => {
  redis = createAdmissionRedis(redisUrl);
  if (redis.status !== "ready") await once(redis, "ready");
});
afterAll(async () => {
  await redis.quit();
});

type Step =
  | { op: "admit"; afterMs: number; tokens: number; micros: number; withKey: boolean }
  | { op: "settle"; pick: number; tokens: number; micros: number }
  /** The user's request limit changes (as a snapshot swap would change its bucket). */
  | { op: "limit"; rpm: number };

const limitsArb = fc.record({
  user: fc.record({
    requestsPerMinute: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
    requestsPerSecond: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    tokensPerMinute: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
    concurrentRequests: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    daily: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }),
  }),
  key: fc.record({
    requestsPerMinute: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    requestsPerSecond: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    tokensPerMinute: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    total: fc.option(fc.integer({ min: 0, max: 2_000 }), { nil: undefined }),
  }),
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("admit" as const),
      // Mostly inside a second, sometimes across seconds, now and then past a whole window.
      afterMs: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 400 }) }, { weight: 2, arbitrary: fc.integer({ min: 400, max: 9_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 55_000, max: 70_000 }) }),
      tokens: fc.integer({ min: 0, max: 120 }),
      micros: fc.integer({ min: 0, max: 400 }),
      withKey: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("settle" as const), pick: fc.nat(), tokens: fc.integer({ min: 0, max: 200 }), micros: fc.integer({ min: 0, max: 600 }) }) },
);

type Limits = typeof limitsArb extends fc.Arbitrary<infer T> ? T : never;

function bucketsOf(limits: Limits, run: string): { user: Bucket; key: Bucket } {
  const { daily, ...userLimits } = limits.user;
  const { total, ...keyLimits } = limits.key;
  return {
    user: { scope: `user:${run}`, ...userLimits, budgets: daily === undefined ? [] : [{ period: "DAILY", capMicros: BigInt(daily) }] },
    key: { scope: `key:${run}`, ...keyLimits, budgets: total === undefined ? [] : [{ period: "TOTAL", capMicros: BigInt(total) }] },
  };
}

/** What a client sees of a verdict (the ticket is engine-specific). */
function seen(result: AdmitResult) {
  return result.ok ? { ok: true, headers: result.headers } : { ok: false, reason: result.reason, message: result.message, retry: result.retryAfterSeconds, headers: result.headers };
}

/**
 * Runs the steps on both engines and compares every verdict. With `burst`, each run of consecutive admits (and each of
 * consecutive settles) is sent to Redis at once, so they share batched script runs (script-batcher.ts) and that
 * batch's rate cache (redis-admit-script.ts), while the in-process engine takes them one after another in the same order.
 */
async function agreeOn(limits: Limits, steps: Step[], burst: boolean): Promise<void> {
  const run = randomBytes(5).toString("hex");
  const prefix = `tollgate-test:agree:${run}:`;
  const memory = createMemoryAdmission();
  const shared = createRedisAdmission(redis, { timeoutMs: 5_000, rateLimitFailMode: "closed", budgetFailMode: "closed", keyPrefix: prefix });
  let { user, key } = bucketsOf(limits, run);
  const open: { memory: AdmissionTicket; redis: AdmissionTicket }[] = [];
  // Mid-second, so second boundaries fall inside the run.
  let now = Math.floor(Date.now() / 1000) * 1000 + 437;
  try {
    for (const group of burst ? runsOf(steps) : steps.map((step) => [step])) {
      const first = group[0]!;
      if (first.op === "limit") {
        user = { ...user, requestsPerMinute: first.rpm };
      } else if (first.op === "admit") {
        const calls = (group as Extract<Step, { op: "admit" }>[]).map((step) => {
          now += step.afterMs;
          return { at: now, buckets: step.withKey ? [user, key] : [user], estimate: { tokens: step.tokens, micros: BigInt(step.micros) } };
        });
        const inRedis = await Promise.all(calls.map((call) => shared.admit(call.buckets, call.estimate, call.at)));
        for (const [i, call] of calls.entries()) {
          const inMemory = await memory.admit(call.buckets, call.estimate, call.at);
          expect(seen(inRedis[i]!), `admit ${i + 1}/${calls.length} at +${call.at % 100_000} ms`).toEqual(seen(inMemory));
          if (inMemory.ok && inRedis[i]!.ok) open.push({ memory: inMemory.ticket, redis: inRedis[i]!.ticket });
        }
      } else {
        const settles = (group as Extract<Step, { op: "settle" }>[]).flatMap((step) => {
          if (open.length === 0) return [];
          const [ticket] = open.splice(step.pick % open.length, 1);
          return [{ ticket: ticket!, actual: { tokens: step.tokens, micros: BigInt(step.micros) } }];
        });
        await Promise.all(settles.map(({ ticket, actual }) => shared.settle(ticket.redis, actual)));
        for (const { ticket, actual } of settles) await memory.settle(ticket.memory, actual);
      }
    }
  } finally {
    await Promise.all([memory.close(), shared.close()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
}

/** Consecutive steps of the same kind, together. */
function runsOf(steps: Step[]): Step[][] {
  const runs: Step[][] = [];
  for (const step of steps) {
    const last = runs.at(-1);
    if (last && last[0]!.op === step.op) last.push(step);
    else runs.push([step]);
  }
  return runs;
}

const RUNS = Number(process.env.TOLLGATE_PROPERTY_RUNS ?? 120);

describe("the Redis and the in-process admission engines agree", () => {
  it("on random traffic against random limits", async () => {
    await fc.assert(
      fc.asyncProperty(limitsArb, fc.array(stepArb, { minLength: 5, maxLength: 40 }), (limits, steps) => agreeOn(limits, steps, false)),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("when the request limit moves between the per-second counter (above 1,000/min) and the exact log", async () => {
    const limitStep = fc.record({ op: fc.constant("limit" as const), rpm: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1_001, max: 1_004 })) });
    const steps = fc.array(fc.oneof({ weight: 6, arbitrary: stepArb }, { weight: 1, arbitrary: limitStep }), { minLength: 10, maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(limitsArb, steps, (limits, list) => agreeOn(limits, list, false)),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("on bursts, whose requests share script runs and their rate cache", async () => {
    // Admits mostly inside one second, so a burst's requests count in the same hashes; long runs of them span batches.
    const burstStep = stepArb.map((step) => (step.op === "admit" && step.afterMs > 9_000 ? step : step.op === "admit" ? { ...step, afterMs: step.afterMs % 120 } : step));
    await fc.assert(
      fc.asyncProperty(limitsArb, fc.array(burstStep, { minLength: 10, maxLength: 60 }), (limits, steps) => agreeOn(limits, steps, true)),
      { numRuns: RUNS },
    );
  }, 120_000);
});
