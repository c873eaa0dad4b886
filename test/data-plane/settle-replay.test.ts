// Settles that fail while Redis is unreachable are sent again once it answers (data-plane/admission/settle-replay.ts):
// a request admitted before an outage and finished during it must not keep its concurrency slot for the whole lease,
// nor its spend estimate for the rest of the budget window.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdmissionRedis } from "../../data-plane/admission/admission-redis.ts";
import { checksOf } from "../../data-plane/admission/checks.ts";
import { counterKey, createRedisAdmission } from "../../data-plane/admission/redis-admission.ts";
import type { Admission, Bucket } from "../../data-plane/contracts.ts";
import { redisUrl } from "../support/database.ts";
import { addressOf, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { deleteKeys, inspectRedis } from "../faults/probes.ts";

const keyPrefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
const reader = inspectRedis();
let proxy: TcpProxy;
let admission: Admission;
const degraded: string[] = [];
let client: ReturnType<typeof createAdmissionRedis>;

beforeAll(async () => {
  proxy = await startTcpProxy(addressOf(redisUrl, 6379));
  client = createAdmissionRedis(proxy.urlFor(redisUrl));
  await once(client, "ready");
  admission = createRedisAdmission(client, {
    timeoutMs: 2_000,
    rateLimitFailMode: "open",
    budgetFailMode: "closed",
    keyPrefix,
    onDegraded: (kind) => degraded.push(kind),
  });
});
afterAll(async () => {
  proxy?.restore();
  await admission?.close();
  client?.disconnect();
  await proxy?.close();
  await deleteKeys(reader, keyPrefix);
  reader.disconnect();
});

describe("settles during a Redis outage", () => {
  it("are replayed when Redis is back: the slot is handed back and the spend becomes the actual cost", async () => {
    const bucket: Bucket = { scope: `user:${randomBytes(4).toString("hex")}`, concurrentRequests: 1, budgets: [{ period: "DAILY", capMicros: 1_000_000n }] };
    const now = Date.now();
    const [slots, spend] = checksOf([bucket], now).map((check) => counterKey(keyPrefix, [bucket], check));
    const admitted = await admission.admit([bucket], { tokens: 100, micros: 5_000n }, now);
    if (!admitted.ok) throw new Error(`not admitted: ${admitted.reason}`);
    expect(await reader.zcard(slots!)).toBe(1);
    expect(await reader.get(spend!)).toBe("5000");

    proxy.cut("refuse");
    await expect.poll(() => client.status).not.toBe("ready");
    await admission.settle(admitted.ticket, { tokens: 40, micros: 1_200n });
    expect(degraded).toEqual(["settle_failed"]);
    // Still down: the slot is taken, so the next request would be refused (fail-closed budget: unavailable).
    expect(await reader.zcard(slots!)).toBe(1);

    proxy.restore();
    await expect.poll(() => reader.zcard(slots!), { timeout: 10_000 }).toBe(0);
    expect(await reader.get(spend!)).toBe("1200");
    expect((await admission.admit([bucket], { tokens: 100, micros: 5_000n }, Date.now())).ok).toBe(true);
  });
});
