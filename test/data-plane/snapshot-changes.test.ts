// Incremental snapshot updates against a real control plane on Redis: every kind of principal-side change is applied
// without a full rebuild and leaves the same snapshot a full rebuild gives; a version gap, a reconnect and events of
// another database fall back to a full resync.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import { type ChangeBus, createChangeBus } from "../../control-plane/events/pubsub.ts";
import { issueApiKey } from "../../control-plane/keys/issue-api-key.ts";
import type { Snapshot } from "../../data-plane/contracts.ts";
import { buildSnapshot, startSnapshotSync, type SnapshotSync } from "../../data-plane/snapshot/index.ts";
import { hashApiKey } from "../../shared/api-key-format.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";
import { redisUrl } from "../support/database.ts";
import { sleep, until } from "../support/poll.ts";

let cp: TestControlPlane;
let bus: ChangeBus;
let sync: SnapshotSync;
const updates: Array<"full" | "changes"> = [];
const closers: Array<() => Promise<unknown>> = [];
const channel = `tollgate-test:${randomBytes(6).toString("hex")}`;

beforeAll(async () => {
  cp = await startTestControlPlane({ redis: true, channel });
  bus = createChangeBus(redisUrl, channel);
  // No periodic check during these tests: whatever arrives, arrives through Redis.
  sync = startSnapshotSync({ prisma: cp.prisma, cipher: cp.cipher, bus, reconcileMs: 600_000, log: () => undefined, onSwap: (_s, update) => updates.push(update) });
  await sync.ready;
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await sync?.stop();
  await bus?.close();
  await cp?.close();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;


/** Runs a mutation, fails on a typed error, and waits until the sync has applied its change event. */
async function change(query: string, variables: Record<string, unknown>) {
  const data = await cp.ok(query, variables);
  const result = Object.values(data)[0] as { __typename?: string; code?: string; message?: string };
  if (result?.code) throw new Error(`${result.code}: ${result.message}`);
  const { version } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
  await until(() => sync.current().version >= version, "the sync applies the committed version", 5_000);
  return result as any;
}

/** Everything a request can observe, in a comparable form. */
function observable(snapshot: Snapshot) {
  return {
    version: snapshot.version,
    models: [...snapshot.modelsBySlug.keys()].sort(),
    keys: [...snapshot.keysByHash]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([hash, k]) => ({
        hash,
        keyId: k.keyId,
        scopes: [...k.scopes].sort(),
        modelSlugs: [...k.modelSlugs].sort(),
        expiresAt: k.expiresAt,
        bucket: k.bucket,
        principal: {
          kind: k.principal.kind,
          id: k.principal.id,
          bucket: k.principal.bucket,
          models: [...k.principal.models].map(([slug, routes]) => [slug, routes.map((r) => r.routeId)]).sort(),
        },
      })),
  };
}

async function expectSameAsFullRebuild() {
  expect(observable(sync.current())).toEqual(observable(await buildSnapshot(cp.prisma, cp.cipher, { log: () => undefined })));
}

const E = `... on Error { code message }`;
const Q = {
  createProvider: `mutation ($input: CreateProviderInput!) { createProvider(input: $input) { ... on Provider { id } ${E} } }`,
  addProviderModel: `mutation ($input: AddProviderModelInput!) { addProviderModel(input: $input) { ... on ProviderModel { id } ${E} } }`,
  createModel: `mutation ($input: CreateModelInput!) { createModel(input: $input) { ... on Model { id slug } ${E} } }`,
  addModelRoute: `mutation ($input: AddModelRouteInput!) { addModelRoute(input: $input) { ... on Model { id } ${E} } }`,
  createUser: `mutation ($input: CreateUserInput!) { createUser(input: $input) { ... on User { id } ${E} } }`,
  createGroup: `mutation ($input: CreateGroupInput!) { createGroup(input: $input) { ... on Group { id } ${E} } }`,
  deleteGroup: `mutation ($id: ID!) { deleteGroup(id: $id) { ... on Group { id } ${E} } }`,
  addMembers: `mutation ($input: GroupMembersInput!) { addGroupMembers(input: $input) { ... on Group { id } ${E} } }`,
  removeMembers: `mutation ($input: GroupMembersInput!) { removeGroupMembers(input: $input) { ... on Group { id } ${E} } }`,
  createKey: `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on CreatedApiKey { secret apiKey { id } } ${E} } }`,
  updateKey: `mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { ... on ApiKey { id } ${E} } }`,
  rotateKey: `mutation ($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { ... on CreatedApiKey { secret apiKey { id } } ${E} } }`,
  revokeKey: `mutation ($id: ID!) { revokeApiKey(id: $id) { ... on ApiKey { id } ${E} } }`,
  grant: `mutation ($input: GrantModelInput!) { grantModel(input: $input) { ... on ModelGrant { id } ${E} } }`,
  revokeGrant: `mutation ($id: ID!) { revokeGrant(id: $id) { ... on ModelGrant { id } ${E} } }`,
  setLimit: `mutation ($input: SetRateLimitInput!) { setRateLimit(input: $input) { ... on RateLimit { id } ${E} } }`,
  clearLimit: `mutation ($subject: SubjectInput!) { clearRateLimit(subject: $subject) { ... on ClearResult { cleared } ${E} } }`,
  setBudget: `mutation ($input: SetBudgetInput!) { setBudget(input: $input) { ... on Budget { id } ${E} } }`,
  setAccess: `mutation ($input: SetProviderAccessInput!) { setProviderAccess(input: $input) { ... on ProviderAccess { id } ${E} } }`,
  removeAccess: `mutation ($id: ID!) { removeProviderAccess(id: $id) { ... on ProviderAccess { id } ${E} } }`,
  disableUser: `mutation ($id: ID!) { disableUser(id: $id) { ... on User { id } ${E} } }`,
  enableUser: `mutation ($id: ID!) { enableUser(id: $id) { ... on User { id } ${E} } }`,
};

describe("incremental snapshot updates", () => {
  it("keys, grants, memberships, limits, budgets, provider access and user status are applied without a full rebuild, matching one", async () => {
    // The catalogue (full rebuilds): a provider with two models, one routed, one reached through provider access only.
    const provider = await change(Q.createProvider, { input: { name: unique("p"), kind: "openai", baseUrl: "http://127.0.0.1:9/v1", credentials: "sk-x" } });
    const pm = await change(Q.addProviderModel, { input: { providerId: provider.id, upstreamName: "gpt-x", inputPricePerMTok: "1.00", outputPricePerMTok: "2.00" } });
    const chat = await change(Q.createModel, { input: { slug: unique("chat"), displayName: "Chat" } });
    const other = await change(Q.createModel, { input: { slug: unique("other"), displayName: "Other" } });
    await change(Q.addModelRoute, { input: { modelId: chat.id, providerModelId: pm.id } });
    await change(Q.addModelRoute, { input: { modelId: other.id, providerModelId: pm.id } });
    const alice = await change(Q.createUser, { input: { email: `${unique("alice")}@example.com`, name: "Alice" } });
    const bob = await change(Q.createUser, { input: { email: `${unique("bob")}@example.com`, name: "Bob" } });
    const team = await change(Q.createGroup, { input: { name: unique("team") } });
    updates.length = 0;

    const aliceKey = await change(Q.createKey, { input: { userId: alice.id, name: "a", scopes: ["INFERENCE"] } });
    const bobKey = await change(Q.createKey, { input: { userId: bob.id, name: "b", scopes: ["INFERENCE"] } });
    const entry = (secret: string) => sync.current().keysByHash.get(hashApiKey(secret));
    expect(entry(aliceKey.secret)?.principal.models.size).toBe(0);

    const grant = await change(Q.grant, { input: { modelId: chat.id, subject: { userId: alice.id } } });
    expect(entry(aliceKey.secret)?.principal.models.has(chat.slug)).toBe(true);
    await change(Q.revokeGrant, { id: grant.id });
    expect(entry(aliceKey.secret)?.principal.models.has(chat.slug)).toBe(false);

    await change(Q.grant, { input: { modelId: chat.id, subject: { groupId: team.id } } });
    await change(Q.addMembers, { input: { groupId: team.id, userIds: [alice.id, bob.id] } });
    expect(entry(bobKey.secret)?.principal.models.has(chat.slug)).toBe(true);
    await change(Q.setLimit, { input: { subject: { groupId: team.id }, requestsPerMinute: 100 } });
    await change(Q.setLimit, { input: { subject: { userId: alice.id }, requestsPerMinute: 500, requestsPerSecond: 4, tokensPerMinute: 9000 } });
    expect(entry(aliceKey.secret)?.principal.bucket).toMatchObject({ requestsPerMinute: 100, requestsPerSecond: 4, tokensPerMinute: 9000 });
    await change(Q.setLimit, { input: { subject: { groupId: team.id }, requestsPerMinute: 1 } });
    expect(entry(aliceKey.secret)?.principal.bucket.requestsPerMinute).toBe(1);
    await change(Q.setBudget, { input: { subject: { userId: bob.id }, period: "DAILY", cap: "5.00" } });
    expect(entry(bobKey.secret)?.principal.bucket.budgets).toEqual([{ period: "DAILY", capMicros: 5_000_000n }]);
    const access = await change(Q.setAccess, { input: { providerId: provider.id, subject: { groupId: team.id } } });
    expect(entry(bobKey.secret)?.principal.models.has(other.slug)).toBe(true);
    await expectSameAsFullRebuild();

    await change(Q.removeMembers, { input: { groupId: team.id, userIds: [bob.id] } });
    expect(entry(bobKey.secret)?.principal.models.size).toBe(0);
    expect(entry(aliceKey.secret)?.principal.models.has(other.slug)).toBe(true);
    await change(Q.removeAccess, { id: access.id });
    expect(entry(aliceKey.secret)?.principal.models.has(other.slug)).toBe(false);
    await change(Q.clearLimit, { subject: { groupId: team.id } });
    expect(entry(aliceKey.secret)?.principal.bucket.requestsPerMinute).toBe(500);

    const expiresAt = new Date(Date.now() + 3_600_000);
    await change(Q.updateKey, { input: { id: aliceKey.apiKey.id, modelSlugs: [chat.slug], rateLimit: { requestsPerMinute: 7 }, budgets: [{ period: "DAILY", cap: "1.50" }], expiresAt } });
    expect(entry(aliceKey.secret)).toMatchObject({
      modelSlugs: new Set([chat.slug]),
      expiresAt: expiresAt.getTime(),
      bucket: { requestsPerMinute: 7, budgets: [{ period: "DAILY", capMicros: 1_500_000n }] },
    });
    await expectSameAsFullRebuild();
    const rotated = await change(Q.rotateKey, { input: { id: aliceKey.apiKey.id, gracePeriodSeconds: 0 } });
    expect(entry(aliceKey.secret)).toBeUndefined();
    expect(entry(rotated.secret)?.bucket?.requestsPerMinute).toBe(7);

    await change(Q.disableUser, { id: bob.id });
    expect(entry(bobKey.secret)).toBeUndefined();
    await change(Q.enableUser, { id: bob.id });
    expect(entry(bobKey.secret)?.principal.bucket.budgets).toHaveLength(1);
    await change(Q.addMembers, { input: { groupId: team.id, userIds: [bob.id] } });
    await change(Q.deleteGroup, { id: team.id });
    expect(entry(rotated.secret)?.principal.models.size).toBe(0);
    expect(entry(bobKey.secret)?.principal.models.size).toBe(0);
    await change(Q.revokeKey, { id: bobKey.apiKey.id });
    expect(entry(bobKey.secret)).toBeUndefined();

    await expectSameAsFullRebuild();
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.filter((u) => u === "full")).toEqual([]);
  });

  it("principals with the same access keep sharing one models map after a change", async () => {
    const [a, b] = await Promise.all(["a", "b"].map((n) => cp.userWithKey("MEMBER", { scopes: ["inference"], email: `${unique(n)}@example.com` })));
    const model = await change(Q.createModel, { input: { slug: unique("shared"), displayName: "Shared" } });
    const group = await change(Q.createGroup, { input: { name: unique("sharing") } });
    await change(Q.grant, { input: { modelId: model.id, subject: { groupId: group.id } } });
    await change(Q.addMembers, { input: { groupId: group.id, userIds: [a!.id, b!.id] } });
    const models = (secret: string) => sync.current().keysByHash.get(hashApiKey(secret))!.principal.models;
    expect(models(a!.secret).has(model.slug)).toBe(true);
    expect(models(a!.secret)).toBe(models(b!.secret));
  });
});

describe("falling back to a full resync", () => {
  /** A sync on a bus of its own, so the test decides which events it sees. */
  async function isolatedSync(options: { bus?: ChangeBus; reconcileMs?: number } = {}) {
    const own = options.bus ?? createChangeBus(undefined, unique("snapshot-changes"));
    if (!options.bus) closers.push(() => own.close());
    const seen: Array<"full" | "changes"> = [];
    const logs: string[] = [];
    const started = startSnapshotSync({ prisma: cp.prisma, cipher: cp.cipher, bus: own, reconcileMs: options.reconcileMs ?? 600_000, log: (l) => logs.push(l), onSwap: (_s, u) => seen.push(u) });
    closers.push(() => started.stop());
    await started.ready;
    seen.length = 0;
    return { bus: own, sync: started, seen, logs };
  }

  /** A key written with the bus bypassed, and the policy version bumped in SQL: what a lost event looks like. */
  async function quietKey() {
    const user = await cp.prisma.user.create({ data: { email: `${unique("quiet")}@example.com`, name: "Quiet" } });
    const { key, secret } = await cp.prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: user.id }, name: "k", scopes: ["inference"] }));
    const [row] = await cp.prisma.$queryRaw<{ version: bigint }[]>`UPDATE "PolicyVersion" SET "version" = "version" + 1 WHERE "id" = 1 RETURNING "version"`;
    return { key, secret, userId: user.id, version: row!.version };
  }
  const event = (version: bigint, targetType: string, targetId: string): ChangeEvent => ({
    kind: "API_KEY",
    action: "apiKey.create",
    targetType,
    targetId,
    version: version.toString(),
    at: new Date().toISOString(),
    auditId: "0",
  });

  it("a gap in versions that does not fill triggers a full resync, which catches the change whose event was lost", async () => {
    const { bus: own, sync: gappy, seen, logs } = await isolatedSync();
    const lost = await quietKey();
    const announced = await quietKey();
    own.publish(event(announced.version, "ApiKey", announced.key.id));
    await until(() => gappy.current().keysByHash.has(lost.key.hash), "a resync after the gap serves the lost key", 5_000);
    expect(gappy.current().keysByHash.has(announced.key.hash)).toBe(true);
    expect(seen).toEqual(["full"]);
    expect(logs.some((line) => line.includes("never arrived"))).toBe(true);
  });

  it("events arriving out of order are applied incrementally once the missing one arrives", async () => {
    const { bus: own, sync: ordered, seen } = await isolatedSync();
    const first = await quietKey();
    const second = await quietKey();
    own.publish(event(second.version, "ApiKey", second.key.id));
    await sleep(20);
    own.publish(event(first.version, "ApiKey", first.key.id));
    await until(() => ordered.current().version === second.version, "the second version is served", 5_000);
    expect(ordered.current().keysByHash.has(first.key.hash) && ordered.current().keysByHash.has(second.key.hash)).toBe(true);
    expect(seen).toEqual(["changes"]);
  });

  it("an event ahead of the database (another deployment's, or a restored database) is not applied: a full resync follows", async () => {
    const { bus: own, sync: foreign, seen } = await isolatedSync();
    const { version } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    own.publish(event(version + 1n, "User", "00000000-0000-4000-8000-000000000000"));
    await until(() => seen.length > 0, "an update is reported", 5_000);
    expect(seen).toEqual(["full"]);
    expect(foreign.current().version).toBe(version);
  });

  it("a catalogue change is a full rebuild", async () => {
    const { bus: own, sync: catalogue, seen } = await isolatedSync();
    const model = await cp.prisma.model.create({ data: { slug: unique("late"), displayName: "Late" } });
    const [row] = await cp.prisma.$queryRaw<{ version: bigint }[]>`UPDATE "PolicyVersion" SET "version" = "version" + 1 WHERE "id" = 1 RETURNING "version"`;
    own.publish({ ...event(row!.version, "Model", model.id), kind: "MODEL", action: "model.create" });
    await until(() => catalogue.current().modelsBySlug.has(model.slug), "the new model is served", 5_000);
    expect(seen).toEqual(["full"]);
  });

  it("after a reconnect the version is checked and a change missed meanwhile is caught by a full resync", async () => {
    // A bus whose subscription can be ended, as a dropped connection ends it.
    const inner = createChangeBus(undefined, unique("reconnect"));
    closers.push(() => inner.close());
    let end: (() => void) | null = null;
    const dropping: ChangeBus = {
      publish: (e) => inner.publish(e),
      close: () => inner.close(),
      subscribe() {
        const source = inner.subscribe()[Symbol.asyncIterator]();
        const ended = new Promise<IteratorResult<ChangeEvent>>((resolve) => (end = () => resolve({ done: true, value: undefined })));
        return { [Symbol.asyncIterator]: () => ({ next: () => Promise.race([source.next(), ended]), return: () => source.return!() }) };
      },
    };
    const { sync: reconnecting, seen } = await isolatedSync({ bus: dropping });
    const missed = await quietKey();
    end!();
    await until(() => reconnecting.current().keysByHash.has(missed.key.hash), "the key missed while disconnected is served", 5_000);
    expect(seen).toContain("full");
  });
});
