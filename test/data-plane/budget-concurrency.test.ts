// Budget under concurrency (proof issue): 200 streams at once on one user, across two data-plane instances sharing
// Redis, against a cap that admits a few dozen. Spend never passes the cap; once every stream has settled, no
// reservation is left in any Redis counter, and the ledger (usage records in Postgres, the Redis spend counter)
// equals, to the micro-dollar, what the mock provider reported.
import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costMicros } from "../../shared/money.ts";
import { redisUrl } from "../support/database.ts";
import { mockUsage } from "../support/mock-provider.ts";
import { createMockModel, eventually, memberWithInferenceKey, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

let stack: TestStack;
let redis: Redis;
beforeAll(async () => {
  stack = await startTestStack({ instances: 2 });
  redis = new Redis(redisUrl);
}, 60_000);
afterAll(async () => {
  redis?.disconnect();
  await stack?.close();
});

const STREAMS = 200;
// createMockModel's prices: $1 per million input tokens, $2 per million output tokens.
const PRICES = { inputPerMTok: 1_000_000n, outputPerMTok: 2_000_000n, cachedInputPerMTok: 0n };
// Long enough that every stream asks for fewer tokens than it could get, so the mock stops at max_tokens and actual
// output equals the reserved output: the cap then binds on real spend, not on over-reservation.
const UPSTREAM = "mock-chunks-500-delay-2";

/** Every Redis counter of one principal, whatever the deployment's key prefix. */
async function countersOf(userId: string): Promise<Record<string, string>> {
  const keys = await redis.keys(`*{user:${userId}}:*`);
  const types = await Promise.all(keys.map((key) => redis.type(key)));
  return Object.fromEntries(keys.map((key, i) => [key.slice(key.indexOf("}:") + 2), types[i]!]));
}

describe("budget under concurrency", () => {
  it(`${STREAMS} streams at once across two instances: spend ≤ cap, nothing left reserved, the ledger equals the provider's usage`, async () => {
    const { modelId, slug } = await createMockModel(stack, UPSTREAM);
    const member = await memberWithInferenceKey(stack);
    await stack.cp.ok(`mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename } }`, { input: { modelId, subject: { userId: member.userId } } });
    // A budget that admits a few dozen of the 200, a token limit and a concurrency limit that never bind: their
    // counters must also be back to exactly what was used once everything settled.
    await stack.cp.ok(`mutation ($u: ID!) { setBudget(input: { subject: { userId: $u }, period: DAILY, cap: "0.005" }) { __typename } }`, { u: member.userId });
    await stack.cp.ok(`mutation ($u: ID!) { setRateLimit(input: { subject: { userId: $u }, tokensPerMinute: 10000000, concurrentRequests: 1000 }) { __typename } }`, {
      u: member.userId,
    });
    await waitForPolicy(stack);
    const cap = 5_000n;

    const clients = [0, 1].map((i) => new OpenAI({ apiKey: member.secret, baseURL: `${stack.gateways[i]}/v1`, maxRetries: 0, timeout: 60_000 }));
    const results = await Promise.all(
      Array.from({ length: STREAMS }, async (_, i) => {
        try {
          const stream = await clients[i % 2]!.chat.completions.create({
            model: slug,
            stream: true,
            // Reservations of different sizes (about 40 to 480 µ$), so the cap is not a multiple of one of them.
            max_tokens: 20 + ((i * 37) % 220),
            messages: [{ role: "user", content: `spend ${i}` }],
          });
          let chunks = 0;
          for await (const chunk of stream) if (chunk.choices[0]?.delta.content) chunks++;
          return chunks > 0 ? "ok" : "empty";
        } catch (error) {
          return (error as { status?: number }).status ?? String(error);
        }
      }),
    );
    const admitted = results.filter((r) => r === "ok").length;
    expect(results.filter((r) => r !== "ok" && r !== 402)).toEqual([]);
    expect(admitted).toBeGreaterThan(5);
    expect(admitted).toBeLessThan(STREAMS);

    // One usage record per request: refusals at no cost, the rest at what they used.
    const records = await eventually(async () => {
      const rows = await stack.cp.prisma.usageRecord.findMany({ where: { userId: member.userId } });
      expect(rows).toHaveLength(STREAMS);
      return rows;
    }, 20_000);
    const served = records.filter((r) => r.status === 200);
    expect(served).toHaveLength(admitted);
    expect(records.filter((r) => r.status === 402).every((r) => r.costMicros === 0n && r.outputTokens === 0)).toBe(true);
    const ledger = served.reduce((sum, r) => sum + r.costMicros, 0n);
    console.log(`${admitted} of ${STREAMS} admitted; spend ${ledger} µ$ of a ${cap} µ$ cap`);
    expect(ledger).toBeLessThanOrEqual(cap);

    // What the provider reported, computed from what it received (mockUsage is the mock's own rule).
    const upstream = stack.mock.requests.filter((r) => r.body?.model === UPSTREAM);
    expect(upstream).toHaveLength(admitted);
    expect(upstream.every((r) => r.status === 200 && !r.clientAborted)).toBe(true);
    const reported = upstream.map((r) => mockUsage("chat", r.body));
    const reportedCost = reported.reduce((sum, u) => sum + costMicros({ inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedInputTokens: u.cachedTokens }, PRICES), 0n);
    const reportedTokens = reported.reduce((sum, u) => sum + u.inputTokens + u.outputTokens, 0);
    expect(ledger).toBe(reportedCost);
    expect(served.reduce((sum, r) => sum + r.inputTokens + r.outputTokens, 0)).toBe(reportedTokens);

    // Settles run after each response: once they are all in, the counters hold exactly what was used.
    const counters = await eventually(async () => {
      const found = await countersOf(member.userId);
      const spendKey = (await redis.keys(`*{user:${member.userId}}:user:${member.userId}:budget:DAILY:*`))[0]!;
      expect(BigInt((await redis.get(spendKey)) ?? "-1")).toBe(ledger);
      const tokensKey = (await redis.keys(`*{user:${member.userId}}:user:${member.userId}:tpm`))[0]!;
      expect(Number(await redis.hget(tokensKey, "n"))).toBe(reportedTokens);
      return found;
    }, 10_000);
    // No slot held: the concurrency set is gone or empty.
    const slotsKey = (await redis.keys(`*{user:${member.userId}}:user:${member.userId}:concurrency`))[0];
    expect(slotsKey === undefined ? 0 : await redis.zcard(slotsKey)).toBe(0);
    expect(Object.keys(counters).every((key) => /:(tpm|concurrency|budget:DAILY:\d+)$/.test(key))).toBe(true);
  }, 120_000);
});
