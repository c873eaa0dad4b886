// Quota leases (data-plane/admission/admission-leases.ts) on real Redis: two lease-holding instances over one Redis
// admit most requests without a round trip, never more than a limit allows, and leave the counters exactly at what was
// used once their leases close.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { leaseUnitsAllowed } from "../../data-plane/admission/admission-leases.ts";
import { createAdmissionRedis } from "../../data-plane/admission/admission-redis.ts";
import { checksOf } from "../../data-plane/admission/checks.ts";
import { counterKey, createRedisAdmission, type DegradedKind } from "../../data-plane/admission/redis-admission.ts";
import type { Admission, AdmitResult, Bucket } from "../../data-plane/contracts.ts";
import { redisUrl } from "../support/database.ts";
import { eventually } from "../support/stack.ts";
import { addressOf, startTcpProxy } from "../support/tcp-proxy.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Instance {
  admission: Admission;
  client: Redis;
  /** EVALSHA calls of the admit script this instance sent. */
  admits(): number;
  degraded: DegradedKind[];
}


async function instance(prefix: string, url = redisUrl): Promise<Instance> {
  const client = createAdmissionRedis(url);
  if (client.status !== "ready") await once(client, "ready");
  const degraded: DegradedKind[] = [];
  const admission = createRedisAdmission(client, {
    timeoutMs: 1_000,
    rateLimitFailMode: "closed",
    budgetFailMode: "closed",
    keyPrefix: prefix,
    leases: true,
    onDegraded: (kind) => degraded.push(kind),
  });
  // The batcher looks the command up on every batch, so counting it here sees every admit sent.
  let admits = 0;
  const scripted = client as unknown as { tollgateAdmitMany: (...args: unknown[]) => Promise<unknown> };
  const send = scripted.tollgateAdmitMany.bind(client);
  scripted.tollgateAdmitMany = (...args) => {
    admits++;
    return send(...args);
  };
  cleanups.push(async () => {
    await admission.close();
    client.disconnect();
  });
  return { admission, client, admits: () => admits, degraded };
}

async function reader(): Promise<{ client: Redis; prefix: string }> {
  const client = createAdmissionRedis(redisUrl);
  if (client.status !== "ready") await once(client, "ready");
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  cleanups.push(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });
  return { client, prefix };
}

function bucket(scope: string, spec: { rpm?: number; tpm?: number; rps?: number; dailyMicros?: bigint }): Bucket {
  return {
    scope,
    requestsPerMinute: spec.rpm,
    requestsPerSecond: spec.rps,
    tokensPerMinute: spec.tpm,
    budgets: spec.dailyMicros === undefined ? [] : [{ period: "DAILY", capMicros: spec.dailyMicros }],
  };
}

/** The counters of `buckets` as Redis holds them: requests and tokens in the minute, budget spent and reserved. */
async function counters(client: Redis, prefix: string, buckets: Bucket[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const check of checksOf(buckets, Date.now())) {
    const key = counterKey(prefix, buckets, check);
    if (check.kind === "budget") out[`${check.scope} budget`] = Number((await client.get(key)) ?? 0);
    else out[`${check.scope} ${check.kind}`] = Number((await client.hget(key, "n")) ?? 0);
  }
  return out;
}

const ticketOf = (result: AdmitResult) => {
  if (!result.ok) throw new Error(`refused: ${result.reason} ${result.message}`);
  return result.ticket;
};

describe("quota leases over real Redis", () => {
  it("admit most requests without a round trip, and leave the counters at exactly what was used once closed", async () => {
    const { client, prefix } = await reader();
    const [a, b] = await Promise.all([instance(prefix), instance(prefix)]);
    const buckets = [bucket("user:leases", { rpm: 100_000, tpm: 10_000_000, dailyMicros: 1_000_000_000_000n }), bucket("key:leases", { rpm: 50_000 })];
    const n = 400;
    for (let i = 0; i < n; i++) {
      const from = i % 2 === 0 ? a : b;
      const ticket = ticketOf(await from.admission.admit(buckets, { tokens: 100, micros: 1_000n }, Date.now()));
      await from.admission.settle(ticket, { tokens: 30, micros: 400n });
    }
    // Leases double while they run out: a few admits per instance and second instead of one per request.
    expect(a.admits() + b.admits()).toBeLessThan(n / 4);
    await Promise.all([a.admission.close(), b.admission.close()]);
    expect(await counters(client, prefix, buckets)).toEqual({
      "user:leases requests": n,
      "user:leases tokens": 30 * n,
      "user:leases budget": 400 * n,
      "key:leases requests": n,
    });
  });

  it("never admit more than a limit across two instances, and leave nothing of it unused when pressed", async () => {
    const { client, prefix } = await reader();
    const [a, b] = await Promise.all([instance(prefix), instance(prefix)]);
    const limit = 2_000;
    const buckets = [bucket("user:pressed", { rpm: limit })];
    let admitted = 0;
    const results = await Promise.all(
      Array.from({ length: 5 }, async (_, worker) => {
        const from = worker % 2 === 0 ? a : b;
        for (let i = 0; i < 600; i++) {
          const result = await from.admission.admit(buckets, { tokens: 0, micros: 0n }, Date.now());
          if (result.ok) {
            admitted++;
            await from.admission.settle(result.ticket, { tokens: 0, micros: 0n });
          }
        }
      }),
    );
    expect(results).toHaveLength(5);
    // What an instance still held when its own callers stopped asking is all that may go unused.
    expect(admitted).toBeLessThanOrEqual(limit);
    expect(admitted).toBeGreaterThanOrEqual(limit * 0.95);
    await Promise.all([a.admission.close(), b.admission.close()]);
    expect(await counters(client, prefix, buckets)).toEqual({ "user:pressed requests": admitted });
  });

  it("grant what still fits near the limit: one instance pressing alone gets exactly the limit", async () => {
    const { prefix } = await reader();
    const a = await instance(prefix);
    const limit = 3_007;
    const buckets = [bucket("user:alone", { rpm: limit })];
    let admitted = 0;
    for (let i = 0; i < limit + 200; i++) if ((await a.admission.admit(buckets, { tokens: 0, micros: 0n }, Date.now())).ok) admitted++;
    expect(admitted).toBe(limit);
  });

  it("stop admitting from a lease as soon as the policy changes (a new bucket), so a lowered budget holds at once", async () => {
    const { prefix } = await reader();
    const a = await instance(prefix);
    const generous = [bucket("user:lowered", { rpm: 100_000, dailyMicros: 1_000_000_000n })];
    for (let i = 0; i < 300; i++) ticketOf(await a.admission.admit(generous, { tokens: 0, micros: 1_000n }, Date.now()));
    const before = a.admits();
    // 300,000 reserved so far, and the lease holds more: a cap of 250,000 (still one leases are allowed for) leaves
    // nothing, and the old lease must not admit another request past it.
    const lowered = [bucket("user:lowered", { rpm: 100_000, dailyMicros: 250_000n })];
    const refused = await a.admission.admit(lowered, { tokens: 0, micros: 1_000n }, Date.now());
    expect(refused.ok).toBe(false);
    expect(refused.ok ? "" : refused.reason).toBe("budget_exceeded");
    expect(a.admits()).toBe(before + 1);
  });

  it("never lease exact request logs, per-second limits or small budgets: those requests each go to Redis", async () => {
    const { prefix } = await reader();
    const a = await instance(prefix);
    const cases = [
      [bucket("user:log", { rpm: 1_000 })],
      [bucket("user:rps", { rpm: 100_000, rps: 50 })],
      [bucket("user:small", { rpm: 100_000, dailyMicros: 150_000n })],
    ];
    for (const buckets of cases) {
      const before = a.admits();
      for (let i = 0; i < 5; i++) ticketOf(await a.admission.admit(buckets, { tokens: 0, micros: 1_000n }, Date.now()));
      expect(a.admits() - before).toBe(5);
    }
  });

  it("tell the client what is left, counting what the lease still holds as free", async () => {
    const { prefix } = await reader();
    const a = await instance(prefix);
    const buckets = [bucket("user:headers", { rpm: 100_000, tpm: 1_000_000 })];
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const result = await a.admission.admit(buckets, { tokens: 10, micros: 0n }, Date.now());
      remaining.push(Number(result.headers["x-ratelimit-remaining-requests"]));
      expect(result.headers["x-ratelimit-limit-requests"]).toBe("100000");
    }
    // One instance alone: exactly the limit minus the requests admitted so far, lease or not.
    expect(remaining).toEqual(remaining.map((_, i) => 100_000 - (i + 1)));
  });

  it("send a lease's corrections after Redis comes back, and lose none", async () => {
    const { client, prefix } = await reader();
    const proxy = await startTcpProxy(addressOf(redisUrl, 6379));
    cleanups.push(() => proxy.close());
    const a = await instance(prefix, proxy.urlFor(redisUrl));
    const buckets = [bucket("user:outage", { rpm: 100_000, tpm: 10_000_000, dailyMicros: 1_000_000_000_000n })];
    const tickets = [];
    for (let i = 0; i < 8; i++) tickets.push(ticketOf(await a.admission.admit(buckets, { tokens: 100, micros: 1_000n }, Date.now())));
    proxy.cut("refuse");
    await eventually(async () => expect(a.client.status).not.toBe("ready"), 5_000);
    for (const ticket of tickets) await a.admission.settle(ticket, { tokens: 7, micros: 300n });
    // Past the lease's second, so it closes and its unused requests are handed back too, once Redis answers.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    proxy.restore();
    await eventually(async () => {
      expect(await counters(client, prefix, buckets)).toEqual({ "user:outage requests": 8, "user:outage tokens": 56, "user:outage budget": 2_400 });
    }, 10_000);
    expect(a.degraded).not.toContain("settle_failed");
  });
});

describe("lease sizes", () => {
  const allowed = (spec: Parameters<typeof bucket>[1], tokens: number, micros: bigint) => leaseUnitsAllowed(checksOf([bucket("user:size", spec)], Date.now()), tokens, micros);

  it("hold at most 1 % of each limit and budget, and at most 4,096 requests", () => {
    expect(allowed({ rpm: 100_000 }, 0, 0n)).toBe(1_000);
    expect(allowed({ rpm: 10_000_000 }, 0, 0n)).toBe(4_096);
    expect(allowed({ rpm: 100_000, tpm: 1_000_000 }, 500, 0n)).toBe(20);
    expect(allowed({ rpm: 100_000, dailyMicros: 10_000_000n }, 0, 1_000n)).toBe(100);
  });

  it("are none for exact logs, per-second limits, or a budget with room for fewer than 200 such requests", () => {
    expect(allowed({ rpm: 1_000 }, 0, 0n)).toBe(0);
    expect(allowed({ rpm: 100_000, rps: 100 }, 0, 0n)).toBe(0);
    expect(allowed({ rpm: 100_000, dailyMicros: 199_999n }, 0, 1_000n)).toBe(1);
  });

  it("keep a lease's spend within what a Lua number holds exactly", () => {
    // $10M a request against a budget with room for 10^5 of them: the product, not the share, is what binds.
    expect(allowed({ rpm: 10_000_000, dailyMicros: 10n ** 20n }, 0, 10n ** 13n)).toBe(Math.floor(Number.MAX_SAFE_INTEGER / 1e13));
  });
});
