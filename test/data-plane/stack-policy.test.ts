// End to end through the whole product: policy set with GraphQL on the control plane, enforced by real data-plane
// instances (Redis-shared counters), called with the official OpenAI SDK, answered by the mock provider.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockModel, eventually, memberWithInferenceKey, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ instances: 2 });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const client = (secret: string, instance = 0) =>
  new OpenAI({ apiKey: secret, baseURL: `${stack.gateways[instance]}/v1`, maxRetries: 0 });
const ask = (c: OpenAI, model: string) => c.chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] });

async function group(name: string, userId: string): Promise<string> {
  const { createGroup } = await stack.cp.ok(`mutation ($name: String!) { createGroup(input: { name: $name }) { ... on Group { id } } }`, { name });
  await stack.cp.ok(`mutation ($g: ID!, $u: ID!) { addGroupMembers(input: { groupId: $g, userIds: [$u] }) { ... on Group { id } } }`, {
    g: createGroup.id,
    u: userId,
  });
  return createGroup.id;
}

async function grant(modelId: string, subject: Record<string, string>): Promise<string> {
  const { grantModel } = await stack.cp.ok(
    `mutation ($input: GrantModelInput!) { grantModel(input: $input) { ... on ModelGrant { id } ... on Error { code message } } }`,
    { input: { modelId, subject } },
  );
  return grantModel.id;
}

const status = (error: unknown) => (error as { status?: number }).status;

const post = (secret: string, model: string, instance = 0) =>
  fetch(`${stack.gateways[instance]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });

describe("end to end: control plane policy enforced by the data plane", () => {
  it("a user with no grant is refused with 403 access_denied; a grant to one of their groups lets them in on every instance", async () => {
    const { modelId, slug } = await createMockModel(stack);
    const member = await memberWithInferenceKey(stack);
    // The new key reaches the data plane asynchronously; once it is known, the model is refused.
    const refused = await eventually(async () => {
      const response = await post(member.secret, slug);
      expect(response.status).toBe(403);
      return response.json();
    });
    expect(refused).toEqual({ error: "access_denied", message: "You do not have access to this model" });

    const groupId = await group(`readers-${Date.now()}`, member.userId);
    await grant(modelId, { groupId });
    for (const instance of [0, 1]) {
      const answer = await eventually(() => ask(client(member.secret, instance), slug));
      expect(answer.choices[0]?.message.content).toBeTruthy();
    }
    // The upstream saw the provider credential, never the member's key.
    const last = stack.mock.requests.at(-1)!;
    expect(last.credential).toBe("sk-upstream");
    expect(JSON.stringify(last.headers)).not.toContain(member.secret);
  });

  it("union of grants across groups: each group grants a different model, the user gets both; /v1/models lists exactly them", async () => {
    const a = await createMockModel(stack);
    const b = await createMockModel(stack);
    const hidden = await createMockModel(stack);
    const member = await memberWithInferenceKey(stack);
    await grant(a.modelId, { groupId: await group(`ga-${Date.now()}`, member.userId) });
    await grant(b.modelId, { groupId: await group(`gb-${Date.now()}`, member.userId) });
    const models = await eventually(async () => {
      const list = await client(member.secret).models.list();
      const ids = list.data.map((m) => m.id).sort();
      expect(ids).toEqual([a.slug, b.slug].sort());
      return ids;
    });
    expect(models).not.toContain(hidden.slug);
    await ask(client(member.secret), a.slug);
    await ask(client(member.secret), b.slug);
  });

  it("strictest limit across groups, shared by two instances through Redis: user 100 req/min, group 3 req/min ⇒ 3 in total", async () => {
    const { modelId, slug } = await createMockModel(stack);
    const member = await memberWithInferenceKey(stack);
    const groupId = await group(`slow-${Date.now()}`, member.userId);
    await grant(modelId, { groupId });
    await stack.cp.ok(`mutation ($u: ID!) { setRateLimit(input: { subject: { userId: $u }, requestsPerMinute: 100 }) { __typename } }`, { u: member.userId });
    await stack.cp.ok(`mutation ($g: ID!) { setRateLimit(input: { subject: { groupId: $g }, requestsPerMinute: 3 }) { __typename } }`, { g: groupId });
    await waitForPolicy(stack);
    const outcomes: (number | "ok")[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(await ask(client(member.secret, i % 2), slug).then(() => "ok" as const, (e: unknown) => status(e) ?? 0));
    }
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(3);
    expect(outcomes.filter((o) => o === 429)).toHaveLength(3);
    const raw = await post(member.secret, slug, 1);
    expect(raw.status).toBe(429);
    expect(await raw.json()).toMatchObject({ error: "rate_limited" });
    expect(Number(raw.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(raw.headers.get("x-ratelimit-limit-requests")).toBe("3");
    expect(raw.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("revoking a key during a stream: the stream finishes, the next request is refused with 401", async () => {
    const { modelId, slug } = await createMockModel(stack, "mock-chunks-40-delay-15");
    const member = await memberWithInferenceKey(stack);
    await grant(modelId, { userId: member.userId });
    await eventually(async () => expect((await client(member.secret).models.list()).data).toHaveLength(1));
    const stream = await client(member.secret).chat.completions.create({ model: slug, stream: true, messages: [{ role: "user", content: "long" }] });
    let chunks = 0;
    let revoked = false;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) chunks++;
      if (chunks === 5 && !revoked) {
        revoked = true;
        await stack.cp.ok(`mutation ($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: member.keyId });
      }
    }
    expect(chunks).toBe(40);
    const after = await eventually(async () => {
      const response = await post(member.secret, slug);
      expect(response.status).toBe(401);
      return response.json();
    });
    expect(after).toMatchObject({ error: "invalid_api_key" });
  });

  it("a usage record is written for each request and the control plane sees it", async () => {
    const { modelId, slug } = await createMockModel(stack);
    const member = await memberWithInferenceKey(stack);
    await grant(modelId, { userId: member.userId });
    await eventually(() => ask(client(member.secret), slug));
    // Attempts refused before the grant reached the data plane are recorded too (403, no cost); one was served.
    const records = await eventually(async () => {
      const rows = await stack.cp.prisma.usageRecord.findMany({ where: { userId: member.userId, status: 200 } });
      expect(rows).toHaveLength(1);
      return rows;
    });
    expect(records[0]).toMatchObject({ modelSlug: slug, status: 200, apiKeyId: member.keyId });
    expect(records[0]!.inputTokens).toBeGreaterThan(0);
    expect(records[0]!.costMicros).toBeGreaterThan(0n);
  });
});

describe("end to end: budgets under concurrency", () => {
  it("40 parallel streams across two instances against a small daily cap never spend beyond it, and settle to the exact usage", async () => {
    const { modelId, slug } = await createMockModel(stack);
    const member = await memberWithInferenceKey(stack);
    await grant(modelId, { userId: member.userId });
    // Each request reserves ~200 µ$ (100 max output tokens at $2/M); the cap admits about 5 at once.
    await stack.cp.ok(`mutation ($u: ID!) { setBudget(input: { subject: { userId: $u }, period: DAILY, cap: "0.001" }) { __typename } }`, {
      u: member.userId,
    });
    await waitForPolicy(stack);

    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        try {
          const stream = await client(member.secret, i % 2).chat.completions.create({
            model: slug,
            stream: true,
            max_tokens: 100,
            messages: [{ role: "user", content: "spend" }],
          });
          for await (const _chunk of stream) {
            // drain
          }
          return "ok";
        } catch (error) {
          return status(error);
        }
      }),
    );
    const admitted = results.filter((r) => r === "ok").length;
    expect(admitted).toBeGreaterThan(0);
    expect(results.filter((r) => r !== "ok").every((r) => r === 402)).toBe(true);

    const records = await eventually(async () => {
      const rows = await stack.cp.prisma.usageRecord.findMany({ where: { userId: member.userId } });
      // Refusals are recorded too (status 402, no cost): one record per request.
      expect(rows).toHaveLength(40);
      expect(rows.filter((r) => r.status === 402).every((r) => r.costMicros === 0n)).toBe(true);
      return rows.filter((r) => r.status === 200);
    });
    expect(records).toHaveLength(admitted);
    const spent = records.reduce((sum, r) => sum + r.costMicros, 0n);
    expect(spent).toBeLessThanOrEqual(1_000n);
    // After settlement the shared counter holds exactly what was used: no reservation is left behind.
    const redis = new (await import("ioredis")).Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
    const keys = (await redis.keys(`*user:${member.userId}*budget*DAILY*`)).filter(Boolean);
    expect(keys).toHaveLength(1);
    expect(BigInt((await redis.get(keys[0]!)) ?? "0")).toBe(spent);
    redis.disconnect();
  });
});
