// The whole data plane as deployed: policy rows in Postgres → buildSnapshot → gateway with Redis admission and the
// batched usage writer → the mock provider; official SDKs as clients; usage rows and limits checked in the stores.
import { randomBytes } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import type { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { issueApiKey, type IssueKeyInput } from "../../control-plane/keys/issue-api-key.ts";
import type { Snapshot } from "../../data-plane/contracts.ts";
import { createAdmissionRedis, createRedisAdmission } from "../../data-plane/admission/index.ts";
import { createGatewayMetrics } from "../../data-plane/metrics/gateway-metrics.ts";
import { type Gateway, startGateway } from "../../data-plane/server/app.ts";
import { buildSnapshot } from "../../data-plane/snapshot/index.ts";
import { createUsageWriter, insertUsageRecords, type UsageWriter } from "../../data-plane/usage/index.ts";
import { loadConfig } from "../../shared/config.ts";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "../support/database.ts";
import { mockCompletionText, startMockProvider, type MockProvider } from "../support/mock-provider.ts";

const cipher = createCredentialCipher(randomBytes(32));
const keyPrefix = `tollgate-test-${randomBytes(4).toString("hex")}:`;
let database: TestDatabase;
let prisma: Db;
let redis: Redis;
let mock: MockProvider;
let usage: UsageWriter;
let gateway: Gateway;
let snapshot: Snapshot | null = null;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = createDb(database.url, 4);
  mock = await startMockProvider({ requireCredential: "sk-upstream" });
  redis = createAdmissionRedis(redisUrl);
  await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
  usage = createUsageWriter({ write: insertUsageRecords(prisma.$pool), flushIntervalMs: 20 });
  world = await createWorld();
  gateway = await startGateway({
    config: loadConfig({ DATA_PLANE_PORT: "0" }),
    snapshot: () => snapshot,
    admission: createRedisAdmission(redis, { timeoutMs: 1_000, rateLimitFailMode: "open", budgetFailMode: "closed", keyPrefix }),
    usage,
    metrics: createGatewayMetrics({ defaultMetrics: false }),
    log: () => {},
  });
});
afterAll(async () => {
  await gateway?.close();
  await usage?.close();
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await mock?.close();
  await prisma?.$disconnect();
  await database?.drop();
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomBytes(3).toString("hex")}`;

/** One OpenAI and one Anthropic provider (both the mock), a model on each, priced $1/M input and $2/M output. */
async function createWorld() {
  const credentialsCiphertext = cipher.encrypt("sk-upstream");
  const prices = { inputPricePerMTok: 1_000_000n, outputPricePerMTok: 2_000_000n, cachedInputPricePerMTok: 500_000n };
  const openai = await prisma.provider.create({ data: { name: unique("openai"), kind: "openai", baseUrl: `${mock.url}/v1`, credentialsCiphertext } });
  const anthropic = await prisma.provider.create({ data: { name: unique("anthropic"), kind: "anthropic", baseUrl: mock.url, credentialsCiphertext } });
  const gpt = await prisma.providerModel.create({ data: { providerId: openai.id, upstreamName: "gpt-mock", ...prices } });
  const haiku = await prisma.providerModel.create({ data: { providerId: anthropic.id, upstreamName: "claude-mock", ...prices } });
  const chat = await prisma.model.create({ data: { slug: unique("chat"), displayName: "Chat" } });
  const claude = await prisma.model.create({ data: { slug: unique("claude"), displayName: "Claude" } });
  await prisma.modelRoute.create({ data: { modelId: chat.id, providerModelId: gpt.id } });
  await prisma.modelRoute.create({ data: { modelId: claude.id, providerModelId: haiku.id } });
  return { gpt, haiku, chat, claude };
}

/** A user granted both models, with a key; extra key settings (limits, budgets) as given. Reloads the snapshot. */
async function userWithKey(extra: Partial<IssueKeyInput> = {}) {
  const user = await prisma.user.create({ data: { email: `${unique("user")}@example.com`, name: "User" } });
  await prisma.modelGrant.createMany({ data: [world.chat, world.claude].map((m) => ({ modelId: m.id, userId: user.id })) });
  const { key, secret } = await prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: user.id }, name: "k", scopes: ["inference"], ...extra }));
  snapshot = await buildSnapshot(prisma, cipher, { log: () => {} });
  return {
    user,
    key,
    openai: new OpenAI({ baseURL: `http://127.0.0.1:${gateway.port}/v1`, apiKey: secret, maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: `http://127.0.0.1:${gateway.port}`, apiKey: secret, maxRetries: 0 }),
  };
}

async function usageRows(apiKeyId: string) {
  await usage.flush();
  return prisma.usageRecord.findMany({ where: { apiKeyId }, orderBy: { createdAt: "asc" } });
}

const hello = [{ role: "user" as const, content: "Hello there, gateway!" }];

describe("full data plane", () => {
  it("streams an OpenAI completion and stores its usage row with tokens and cost", async () => {
    const { user, key, openai } = await userWithKey();
    const stream = await openai.chat.completions.create({ model: world.chat.slug, messages: hello, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(mockCompletionText(8));
    const rows = await usageRows(key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      userId: user.id,
      modelSlug: world.chat.slug,
      providerModelId: world.gpt.id,
      inputTokens: 6,
      outputTokens: 8,
      costMicros: 22n,
      status: 200,
    });
  });

  it("answers an Anthropic message and stores its usage row", async () => {
    const { key, anthropic } = await userWithKey();
    const message = await anthropic.messages.create({ model: world.claude.slug, max_tokens: 64, messages: hello });
    expect(message.usage).toMatchObject({ input_tokens: 6, output_tokens: 8 });
    expect(await usageRows(key.id)).toMatchObject([{ providerModelId: world.haiku.id, inputTokens: 6, outputTokens: 8, status: 200 }]);
  });

  it("records a refusal of any model name the client sends, and the requests after it", async () => {
    const { key, openai } = await userWithKey();
    // Postgres text cannot hold NUL: stored as sent, this record would fail its whole batch, and every retry after it.
    const names = ["no\u0000such", "x".repeat(5_000), "\ud800lone"];
    for (const model of names) {
      const error = await openai.chat.completions.create({ model, messages: hello }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    }
    await openai.chat.completions.create({ model: world.chat.slug, messages: hello });
    const rows = await usageRows(key.id);
    expect(rows.map((row) => [row.modelSlug, row.status])).toEqual([
      ["no\ufffdsuch", 404],
      [`${"x".repeat(200)}…`, 404],
      ["\ufffdlone", 404],
      [world.chat.slug, 200],
    ]);
  });

  it("enforces a key's requests-per-minute limit through Redis with a 429 the SDK understands", async () => {
    const { openai } = await userWithKey({ rateLimit: { requestsPerMinute: 2, tokensPerMinute: null, concurrentRequests: null } });
    await openai.chat.completions.create({ model: world.chat.slug, messages: hello });
    await openai.chat.completions.create({ model: world.chat.slug, messages: hello });
    const error = await openai.chat.completions.create({ model: world.chat.slug, messages: hello }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimited.status).toBe(429);
    expect(Number(rateLimited.headers?.get("retry-after"))).toBeGreaterThan(0);
    expect(rateLimited.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("refuses with 402 once a key's budget cannot cover the request", async () => {
    const { key, anthropic } = await userWithKey({ budgets: [{ period: "DAILY", capMicros: 1n }] });
    const error = await anthropic.messages.create({ model: world.claude.slug, max_tokens: 64, messages: hello }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as InstanceType<typeof Anthropic.APIError>).status).toBe(402);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: "budget_exceeded" });
    // The refusal is recorded (one record per request), at no cost and with no provider model.
    const rows = await usageRows(key.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 402, costMicros: 0n, inputTokens: 0, outputTokens: 0, providerModelId: null, modelSlug: world.claude.slug });
  });

  it("refuses a key revoked in the database as soon as the snapshot is rebuilt", async () => {
    const { key, openai } = await userWithKey();
    await openai.chat.completions.create({ model: world.chat.slug, messages: hello });
    await prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } });
    snapshot = await buildSnapshot(prisma, cipher, { log: () => {} });
    const error = await openai.chat.completions.create({ model: world.chat.slug, messages: hello }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
