// A thousand clients hanging up mid-stream at random moments, both wire formats, across two data-plane instances
// sharing Redis. Proves: no crash, no leaked reservation (concurrency slots all handed back, the budget counter equal
// to the recorded cost), and exactly one usage record per request, charged by finish-call.ts's chargedUsage rules for
// what the provider produced (between what the client read and what the mock sent). TOLLGATE_LONG_TESTS=1: 10,000.
// A failure names its FAULT_SEED; FAULT_SEED=<n> replays the same plan.
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { costMicros } from "../../shared/money.ts";
import { mockChunksIn, mockInputTokens, type RecordedRequest } from "../support/mock-provider.ts";
import { startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";
import { createAnthropicMockModel, createMockModel, type Member, member } from "./policy.ts";
import { deleteKeys, expectAlive, inspectRedis, metric, until, watchUnhandled } from "./probes.ts";

const LONG = process.env.TOLLGATE_LONG_TESTS === "1";
/** Requests made; a few finish before their client leaves, and at least ABORTS must not. */
const REQUESTS = LONG ? 10_500 : 1_100;
const ABORTS = LONG ? 10_000 : 1_000;
const CONCURRENCY = LONG ? 100 : 40;
/** Short, paced streams: long enough to leave in the middle, short enough to run a thousand quickly. */
const CHUNKS = 16;
const UPSTREAM = `mock-chunks-${CHUNKS}-delay-2`;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);

type Format = "openai" | "anthropic";
interface Client {
  marker: string;
  format: Format;
  instance: number;
  requestId: string | null;
  /** Content chunks the client had read when it left. */
  received: number;
  /** The stream ended (the client read it all before leaving). */
  sawEnd: boolean;
  failure: string | null;
}

let stack: TestStack;
let redis: Redis;
let payer: Member;
const slugs = {} as Record<Format, string>;
const unhandled = watchUnhandled();

beforeAll(async () => {
  stack = await startTestStack({ instances: 2 });
  const openai = await createMockModel(stack, UPSTREAM);
  const anthropic = await createAnthropicMockModel(stack, UPSTREAM);
  slugs.openai = openai.slug;
  slugs.anthropic = anthropic.slug;
  payer = await member(stack, openai.modelId, { concurrentRequests: 100_000, requestsPerMinute: 10_000_000, dailyBudget: "1000000" });
  await stack.cp.ok(`mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename } }`, {
    input: { modelId: anthropic.modelId, subject: { userId: payer.userId } },
  });
  await waitForPolicy(stack);
  redis = inspectRedis();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (redis && stack) await deleteKeys(redis, stack.redisKeyPrefix);
  redis?.disconnect();
  unhandled.stop();
});

/** mulberry32: the run is reproducible with FAULT_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One streamed request that leaves after `leave.chunks` content chunks, or `leave.ms` after the headers. */
async function leaveEarly(marker: string, format: Format, instance: number, leave: { chunks: number } | { ms: number }): Promise<Client> {
  const client: Client = { marker, format, instance, requestId: null, received: 0, sawEnd: false, failure: null };
  const controller = new AbortController();
  const messages = [{ role: "user", content: marker }];
  const [path, headers, body] =
    format === "openai"
      ? ["/v1/chat/completions", { authorization: `Bearer ${payer.secret}` }, { model: slugs.openai, stream: true, messages }]
      : ["/v1/messages", { "x-api-key": payer.secret, "anthropic-version": "2023-06-01" }, { model: slugs.anthropic, stream: true, max_tokens: 100, messages }];
  let timer: NodeJS.Timeout | undefined;
  try {
    const response = await fetch(`${stack.gateways[instance]}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    client.requestId = response.headers.get("x-request-id");
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    if ("ms" in leave) timer = setTimeout(() => controller.abort(), leave.ms);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      if ("chunks" in leave && client.received >= leave.chunks) {
        controller.abort();
        break;
      }
      const { value, done } = await reader.read();
      if (done) {
        client.sawEnd = true;
        break;
      }
      text += decoder.decode(value, { stream: true });
      client.received = mockChunksIn(text);
    }
  } catch (error) {
    if (!controller.signal.aborted) client.failure = String(error);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** $1/M input, $2/M output: createMockModel's and createAnthropicMockModel's prices. */
const priced = (input: number, output: number) =>
  costMicros({ inputTokens: input, outputTokens: output }, { inputPerMTok: 1_000_000n, outputPerMTok: 2_000_000n, cachedInputPerMTok: 0n });

describe("clients leaving mid-stream", () => {
  it(`${REQUESTS} random aborts across two instances: no crash, no leaked reservation, one usage record each charged for what was produced`, async () => {
    const next = random(SEED);
    const plan = Array.from({ length: REQUESTS }, (_, i) => ({
      marker: `abort ${SEED}-${i}`,
      format: (i % 2 === 0 ? "openai" : "anthropic") as Format,
      instance: Math.floor(i / 2) % 2,
      // Mostly after a random number of chunks (0 = as soon as the headers arrive), sometimes after a random time.
      leave: next() < 0.75 ? { chunks: Math.floor(next() * (CHUNKS - 2)) } : { ms: Math.floor(next() * 24) },
    }));
    const clients: Client[] = [];
    let taken = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (taken < plan.length) {
          const p = plan[taken++]!;
          clients.push(await leaveEarly(p.marker, p.format, p.instance, p.leave));
        }
      }),
    );
    const seed = `FAULT_SEED=${SEED}`;
    expect(clients.filter((c) => c.failure !== null || c.requestId === null), seed).toEqual([]);

    // The provider saw each request exactly once, and has closed every one of them.
    const upstream = new Map<string, RecordedRequest>();
    for (const rec of stack.mock.requests) {
      const marker = rec.body?.messages?.[0]?.content as string;
      expect(upstream.has(marker), `${marker} reached the provider twice`).toBe(false);
      upstream.set(marker, rec);
    }
    expect(upstream.size).toBe(REQUESTS);
    await Promise.all([...upstream.values()].map((rec) => rec.closed));

    // Exactly one usage record per request, all settled.
    await until(async () => (await stack.cp.prisma.usageRecord.count({ where: { userId: payer.userId } })) >= REQUESTS, `${REQUESTS} usage records`, 30_000);
    const records = await stack.cp.prisma.usageRecord.findMany({ where: { userId: payer.userId } });
    expect(records).toHaveLength(REQUESTS);
    const byRequestId = new Map(records.map((r) => [r.requestId, r]));
    expect(byRequestId.size).toBe(REQUESTS);

    let aborted = 0;
    let unread = 0;
    const wrong: string[] = [];
    for (const client of clients) {
      const record = byRequestId.get(client.requestId!);
      const rec = upstream.get(client.marker)!;
      const input = mockInputTokens(rec.body);
      const sent = rec.contentChunksSent;
      // Anthropic's message_start reports a provisional output of 1, which chargedUsage takes when it is higher.
      const floor = client.format === "anthropic" ? 1 : 0;
      const explain = () => `${client.marker} (${client.format}, read ${client.received}, mock sent ${sent}): ${JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`;
      if (record === undefined) {
        wrong.push(`${client.marker}: no usage record`);
        continue;
      }
      if (record.status === 200) {
        // The gateway had relayed the whole stream before it saw the client go: the provider's own report.
        if (record.inputTokens !== input || record.outputTokens !== CHUNKS || sent !== CHUNKS) wrong.push(`complete: ${explain()}`);
      } else {
        aborted++;
        unread += sent - record.outputTokens;
        const inRange = record.outputTokens >= Math.max(client.received, floor) && record.outputTokens <= Math.max(sent, floor);
        if (record.status !== 499 || client.sawEnd || record.inputTokens !== input || record.cachedTokens !== 0 || !inRange) wrong.push(`aborted: ${explain()}`);
        if (!rec.clientAborted && sent !== CHUNKS) wrong.push(`the provider was not hung up on: ${explain()}`);
      }
      if (record.costMicros !== priced(record.inputTokens, record.outputTokens)) wrong.push(`cost: ${explain()}`);
    }
    expect(wrong.slice(0, 10), seed).toEqual([]);
    expect(aborted, `${seed}: requests ended by the client`).toBeGreaterThanOrEqual(ABORTS);
    console.log(`client-aborts: ${aborted}/${REQUESTS} aborted; chunks the mock sent but the gateway never relayed: ${unread} (${(unread / aborted).toFixed(2)} per abort)`);

    // No reservation left: the slots are all handed back and the budget counter is exactly the recorded cost.
    const spent = records.reduce((sum, r) => sum + r.costMicros, 0n);
    const keys = async (kind: string) => redis.keys(`${stack.redisKeyPrefix}{user:${payer.userId}}:*${kind}*`);
    await until(async () => (await keys("concurrency")).length === 0, "every concurrency slot handed back");
    const [budget] = await keys("budget");
    await until(async () => BigInt((await redis.get(budget!)) ?? "-1") === spent, `the budget counter reaches the recorded ${spent} µ$`);

    for (const gateway of stack.gateways) expect(await metric(gateway, "tollgate_open_streams")).toBe(0);
    await expectAlive(stack.gateways);
    expect(unhandled.errors).toEqual([]);
  }, LONG ? 600_000 : 120_000);
});
