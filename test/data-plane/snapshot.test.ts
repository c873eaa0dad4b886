// buildSnapshot against a real, migrated Postgres: what the data plane's in-memory policy holds, and that it is
// loaded in a fixed number of queries.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { issueApiKey, type IssueKeyInput } from "../../control-plane/keys/issue-api-key.ts";
import { buildSnapshot } from "../../data-plane/snapshot/index.ts";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let database: TestDatabase;
let prisma: Db;
const statements: string[] = [];
const cipher = createCredentialCipher(randomBytes(32));
beforeAll(async () => {
  database = await createTestDatabase();
  prisma = createDb(database.url, 4, { onQuery: (sql) => statements.push(sql) });
});
afterAll(async () => {
  await prisma?.$disconnect();
  await database?.drop();
});

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomBytes(3).toString("hex")}`;
const logs: string[] = [];
const build = () => buildSnapshot(prisma, cipher, { log: (line) => logs.push(line) });

async function key(owner: IssueKeyInput["owner"], extra: Partial<IssueKeyInput> = {}) {
  const { key } = await prisma.$transaction((tx) => issueApiKey(tx, { owner, name: "k", scopes: ["inference"], ...extra }));
  return key;
}

/** Two providers with one model each routed to both, and a second model only on the second provider. */
async function world() {
  const openai = await prisma.provider.create({
    data: { name: unique("openai"), kind: "openai", baseUrl: "https://api.openai.com/v1", credentialsCiphertext: cipher.encrypt("sk-openai"), settings: { org: "acme" } },
  });
  const anthropic = await prisma.provider.create({ data: { name: unique("anthropic"), kind: "anthropic", baseUrl: "https://api.anthropic.com" } });
  const gpt = await prisma.providerModel.create({
    data: { providerId: openai.id, upstreamName: "gpt-4o-mini", inputPricePerMTok: 150_000n, outputPricePerMTok: 600_000n, cachedInputPricePerMTok: 75_000n },
  });
  const haiku = await prisma.providerModel.create({ data: { providerId: anthropic.id, upstreamName: "claude-haiku" } });
  const fast = await prisma.model.create({ data: { slug: unique("chat-fast"), displayName: "Chat fast" } });
  const smart = await prisma.model.create({ data: { slug: unique("chat-smart"), displayName: "Chat smart" } });
  const fastOnOpenai = await prisma.modelRoute.create({ data: { modelId: fast.id, providerModelId: gpt.id, priority: 0 } });
  const fastOnAnthropic = await prisma.modelRoute.create({ data: { modelId: fast.id, providerModelId: haiku.id, priority: 1, weight: 3 } });
  const smartOnAnthropic = await prisma.modelRoute.create({ data: { modelId: smart.id, providerModelId: haiku.id } });
  const alice = await prisma.user.create({ data: { email: `${unique("alice")}@example.com`, name: "Alice" } });
  const engineering = await prisma.group.create({ data: { name: unique("Engineering") } });
  const interns = await prisma.group.create({ data: { name: unique("Interns") } });
  await prisma.groupMembership.createMany({ data: [engineering, interns].map((g) => ({ groupId: g.id, userId: alice.id })) });
  return { openai, anthropic, gpt, haiku, fast, smart, fastOnOpenai, fastOnAnthropic, smartOnAnthropic, alice, engineering, interns };
}

const routeIds = (routes: { routeId: string }[] | undefined) => routes?.map((r) => r.routeId);

describe("buildSnapshot", () => {
  it("a model granted to one of the user's groups is usable through every active route, in priority order", async () => {
    const w = await world();
    await prisma.modelGrant.create({ data: { modelId: w.fast.id, groupId: w.engineering.id } });
    const k = await key({ userId: w.alice.id });
    const entry = (await build()).keysByHash.get(k.hash)!;
    expect(entry.principal).toMatchObject({ kind: "user", id: w.alice.id });
    expect([...entry.principal.models.keys()]).toEqual([w.fast.slug]);
    expect(routeIds(entry.principal.models.get(w.fast.slug))).toEqual([w.fastOnOpenai.id, w.fastOnAnthropic.id]);
    expect(entry.principal.models.get(w.fast.slug)![1]).toMatchObject({ providerId: w.anthropic.id, providerKind: "anthropic", upstreamModel: "claude-haiku", priority: 1, weight: 3 });
  });

  it("provider access reaches every model routed to that provider, but only through that provider's routes", async () => {
    const w = await world();
    await prisma.providerAccess.create({ data: { providerId: w.anthropic.id, groupId: w.interns.id } });
    const k = await key({ userId: w.alice.id });
    const { models } = (await build()).keysByHash.get(k.hash)!.principal;
    expect([...models.keys()].sort()).toEqual([w.fast.slug, w.smart.slug].sort());
    expect(routeIds(models.get(w.fast.slug))).toEqual([w.fastOnAnthropic.id]);
    expect(routeIds(models.get(w.smart.slug))).toEqual([w.smartOnAnthropic.id]);
  });

  it("users with the same access share one models map; a personal grant gives a user a map of its own", async () => {
    const w = await world();
    await prisma.modelGrant.create({ data: { modelId: w.fast.id, groupId: w.engineering.id } });
    const [bob, carol] = await Promise.all(
      ["bob", "carol"].map((name) => prisma.user.create({ data: { email: `${unique(name)}@example.com`, name, memberships: { create: { groupId: w.engineering.id } } } })),
    );
    await prisma.modelGrant.create({ data: { modelId: w.smart.id, userId: carol!.id } });
    const [aliceKey, bobKey, carolKey] = await Promise.all([w.alice, bob!, carol!].map((u) => key({ userId: u.id })));
    const { keysByHash } = await build();
    const models = (k: { hash: string }) => keysByHash.get(k.hash)!.principal.models;
    expect(models(bobKey!)).toBe(models(aliceKey!));
    expect([...models(bobKey!).keys()]).toEqual([w.fast.slug]);
    expect([...models(carolKey!).keys()].sort()).toEqual([w.fast.slug, w.smart.slug].sort());
    expect(keysByHash.get(bobKey!.hash)!.principal).not.toBe(keysByHash.get(aliceKey!.hash)!.principal);
  });

  it("routes on an inactive provider are skipped, and a model left without routes stays listed with none (503, not 403)", async () => {
    const w = await world();
    await prisma.modelGrant.createMany({ data: [w.fast.id, w.smart.id].map((modelId) => ({ modelId, userId: w.alice.id })) });
    await prisma.provider.update({ where: { id: w.anthropic.id }, data: { status: "INACTIVE" } });
    const k = await key({ userId: w.alice.id });
    const { models } = (await build()).keysByHash.get(k.hash)!.principal;
    expect(routeIds(models.get(w.fast.slug))).toEqual([w.fastOnOpenai.id]);
    expect(models.get(w.smart.slug)).toEqual([]);
  });

  it("an inactive route is not used, even on a granted model", async () => {
    const w = await world();
    await prisma.modelGrant.create({ data: { modelId: w.fast.id, userId: w.alice.id } });
    await prisma.modelRoute.update({ where: { id: w.fastOnOpenai.id }, data: { status: "INACTIVE" } });
    const k = await key({ userId: w.alice.id });
    expect(routeIds((await build()).keysByHash.get(k.hash)!.principal.models.get(w.fast.slug))).toEqual([w.fastOnAnthropic.id]);
  });

  it("keys of disabled or invited users, of disabled virtual accounts, and revoked keys are absent; expired keys stay with their expiry", async () => {
    const w = await world();
    const disabled = await prisma.user.create({ data: { email: `${unique("gone")}@example.com`, name: "Gone", status: "DISABLED" } });
    const invited = await prisma.user.create({ data: { email: `${unique("new")}@example.com`, name: "New", status: "INVITED" } });
    const account = await prisma.virtualAccount.create({ data: { name: unique("batch"), status: "DISABLED" } });
    const disabledKey = await key({ userId: disabled.id });
    const invitedKey = await key({ userId: invited.id });
    const accountKey = await key({ virtualAccountId: account.id });
    const revoked = await key({ userId: w.alice.id });
    await prisma.apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date() } });
    const expiresAt = new Date(Date.now() - 60_000);
    const expired = await key({ userId: w.alice.id }, { expiresAt });
    const { keysByHash } = await build();
    for (const absent of [disabledKey, invitedKey, accountKey, revoked]) expect(keysByHash.has(absent.hash)).toBe(false);
    expect(keysByHash.get(expired.hash)).toMatchObject({ keyId: expired.id, prefix: expired.prefix, expiresAt: expiresAt.getTime() });
  });

  it("a key's model list and own caps become its narrowing and key bucket; a key without caps of its own has no bucket", async () => {
    const w = await world();
    await prisma.modelGrant.createMany({ data: [w.fast.id, w.smart.id].map((modelId) => ({ modelId, userId: w.alice.id })) });
    const narrow = await key(
      { userId: w.alice.id },
      { scopes: ["inference", "admin"], modelSlugs: [w.fast.slug], rateLimit: { requestsPerMinute: 5, tokensPerMinute: null, concurrentRequests: 2 }, budgets: [{ period: "DAILY", capMicros: 1_000_000n }] },
    );
    const plain = await key({ userId: w.alice.id });
    const allNull = await key({ userId: w.alice.id }, { rateLimit: { requestsPerMinute: null, tokensPerMinute: null, concurrentRequests: null } });
    const { keysByHash } = await build();
    const entry = keysByHash.get(narrow.hash)!;
    expect(entry.scopes).toEqual(new Set(["inference", "admin"]));
    expect(entry.modelSlugs).toEqual(new Set([w.fast.slug]));
    expect(entry.bucket).toEqual({ scope: `key:${narrow.id}`, requestsPerMinute: 5, concurrentRequests: 2, budgets: [{ period: "DAILY", capMicros: 1_000_000n }] });
    expect(keysByHash.get(plain.hash)).toMatchObject({ modelSlugs: new Set(), bucket: null, expiresAt: null });
    expect(keysByHash.get(allNull.hash)!.bucket).toBeNull();
    // Keys of one owner share one principal entry (one counter scope, one copy of the policy).
    expect(keysByHash.get(plain.hash)!.principal).toBe(entry.principal);
  });

  it("the principal bucket holds the strictest limit per dimension and the lowest cap per period over the user and its groups", async () => {
    const w = await world();
    await prisma.rateLimit.create({ data: { userId: w.alice.id, requestsPerMinute: 100, tokensPerMinute: 10_000 } });
    await prisma.rateLimit.create({ data: { groupId: w.engineering.id, requestsPerMinute: 60, concurrentRequests: 4 } });
    await prisma.budget.createMany({
      data: [
        { groupId: w.engineering.id, period: "DAILY", capMicros: 50_000_000n },
        { groupId: w.interns.id, period: "DAILY", capMicros: 20_000_000n },
        { userId: w.alice.id, period: "MONTHLY", capMicros: 500_000_000n },
        { userId: w.alice.id, period: "TOTAL", capMicros: 900_000_000n },
      ],
    });
    const k = await key({ userId: w.alice.id });
    expect((await build()).keysByHash.get(k.hash)!.principal.bucket).toEqual({
      scope: `user:${w.alice.id}`,
      requestsPerMinute: 60,
      tokensPerMinute: 10_000,
      concurrentRequests: 4,
      budgets: [
        { period: "DAILY", capMicros: 20_000_000n },
        { period: "MONTHLY", capMicros: 500_000_000n },
        { period: "TOTAL", capMicros: 900_000_000n },
      ],
    });
  });

  it("a virtual account's key carries the account's own grants, limits and budget under a va: scope", async () => {
    const w = await world();
    const account = await prisma.virtualAccount.create({ data: { name: unique("billing") } });
    await prisma.modelGrant.create({ data: { modelId: w.smart.id, virtualAccountId: account.id } });
    await prisma.rateLimit.create({ data: { virtualAccountId: account.id, tokensPerMinute: 1_000 } });
    await prisma.budget.create({ data: { virtualAccountId: account.id, period: "WEEKLY", capMicros: 7n } });
    const k = await key({ virtualAccountId: account.id });
    const { principal } = (await build()).keysByHash.get(k.hash)!;
    expect(principal).toMatchObject({ kind: "virtualAccount", id: account.id });
    expect([...principal.models.keys()]).toEqual([w.smart.slug]);
    expect(principal.bucket).toEqual({ scope: `va:${account.id}`, tokensPerMinute: 1_000, budgets: [{ period: "WEEKLY", capMicros: 7n }] });
  });

  it("provider credentials are decrypted in the route target (null without any), with the provider's settings and prices", async () => {
    const w = await world();
    await prisma.modelGrant.create({ data: { modelId: w.fast.id, userId: w.alice.id } });
    const k = await key({ userId: w.alice.id });
    const [onOpenai, onAnthropic] = (await build()).keysByHash.get(k.hash)!.principal.models.get(w.fast.slug)!;
    expect(onOpenai).toEqual({
      routeId: w.fastOnOpenai.id,
      providerId: w.openai.id,
      providerName: w.openai.name,
      providerKind: "openai",
      baseUrl: "https://api.openai.com/v1",
      credentials: "sk-openai",
      settings: { org: "acme" },
      providerModelId: w.gpt.id,
      upstreamModel: "gpt-4o-mini",
      priority: 0,
      weight: 1,
      prices: { inputPerMTok: 150_000n, outputPerMTok: 600_000n, cachedInputPerMTok: 75_000n },
    });
    expect(onAnthropic!.credentials).toBeNull();
  });

  it("a provider whose credentials cannot be decrypted is skipped (its routes dropped) and logged, the rest still builds", async () => {
    const w = await world();
    await prisma.modelGrant.create({ data: { modelId: w.fast.id, userId: w.alice.id } });
    const otherCipher = createCredentialCipher(randomBytes(32));
    await prisma.provider.update({ where: { id: w.openai.id }, data: { credentialsCiphertext: otherCipher.encrypt("sk-foreign") } });
    const k = await key({ userId: w.alice.id });
    logs.length = 0;
    const snapshot = await build();
    expect(routeIds(snapshot.keysByHash.get(k.hash)!.principal.models.get(w.fast.slug))).toEqual([w.fastOnAnthropic.id]);
    expect(logs.some((line) => line.includes(w.openai.id) && line.includes("cannot be decrypted"))).toBe(true);
    await prisma.provider.update({ where: { id: w.openai.id }, data: { credentialsCiphertext: null } });
  });

  it("the version is the stored policy version, and every model is listed by slug", async () => {
    const w = await world();
    await prisma.$executeRaw`UPDATE "PolicyVersion" SET "version" = "version" + 1 WHERE "id" = 1`;
    const { version } = await prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    const snapshot = await build();
    expect(snapshot.version).toBe(version);
    expect(version).toBeGreaterThan(0n);
    expect(snapshot.modelsBySlug.get(w.smart.slug)).toEqual({ id: w.smart.id, slug: w.smart.slug, kind: "CHAT", displayName: "Chat smart" });
    // No one has access to these models, yet requests for them must get "no access" (403), not "unknown model" (404).
    expect(snapshot.modelsBySlug.has(w.fast.slug)).toBe(true);
  });

  it("loads in the same number of queries whatever the number of users, groups and keys", async () => {
    const count = async () => {
      const before = statements.length;
      await build();
      return statements.length - before;
    };
    const small = await count();
    for (let i = 0; i < 5; i++) {
      const w = await world();
      await prisma.modelGrant.create({ data: { modelId: w.fast.id, groupId: w.engineering.id } });
      await prisma.rateLimit.create({ data: { groupId: w.interns.id, requestsPerMinute: 10 } });
      await key({ userId: w.alice.id }, { rateLimit: { requestsPerMinute: 1, tokensPerMinute: null, concurrentRequests: null } });
      await key({ userId: w.alice.id });
    }
    expect(await count()).toBe(small);
  });
});
