// Changes a data plane enforces from their change events alone, with its database connection cut so no re-read can
// happen: lowered limits and budgets, revoked grants (a model still granted through a group stays), and what must wait
// for the re-read (a raised limit; a revoked grant behind a change the event cannot describe). Once the database
// answers again, the re-read gives what a full build gives.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDb } from "../../control-plane/db/client.ts";
import type { PrincipalEntry } from "../../data-plane/contracts.ts";
import { buildSnapshot, startSnapshotSync, type SnapshotSync } from "../../data-plane/snapshot/index.ts";
import { hashApiKey } from "../../shared/api-key-format.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";
import { sleep, until } from "../support/poll.ts";
import { addressOf, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";

let cp: TestControlPlane;
let proxy: TcpProxy;
let sync: SnapshotSync;
const closers: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  cp = await startTestControlPlane();
  proxy = await startTcpProxy(addressOf(cp.database.url, 5432));
  closers.push(() => proxy.close());
  const prisma = createDb(proxy.urlFor(cp.database.url), 2);
  closers.push(() => prisma.$disconnect());
  // No periodic version check: what the instance learns while cut off, it learns from the events.
  sync = startSnapshotSync({ prisma, cipher: cp.cipher, bus: cp.bus, reconcileMs: 600_000, log: () => undefined });
  closers.push(() => sync.stop());
  await sync.ready;
});
// A test that fails while cut off must not leave the next one without a database.
afterEach(() => proxy.restore());
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await cp?.close();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
const E = `... on Error { code message }`;
const M = {
  createKey: `mutation ($input: CreateApiKeyInput!) { r: createApiKey(input: $input) { ... on CreatedApiKey { secret apiKey { id } } ${E} } }`,
  revokeKey: `mutation ($id: ID!) { r: revokeApiKey(id: $id) { ... on ApiKey { id } ${E} } }`,
  createGroup: `mutation ($input: CreateGroupInput!) { r: createGroup(input: $input) { ... on Group { id } ${E} } }`,
  addMembers: `mutation ($input: GroupMembersInput!) { r: addGroupMembers(input: $input) { ... on Group { id } ${E} } }`,
  createModel: `mutation ($input: CreateModelInput!) { r: createModel(input: $input) { ... on Model { id slug } ${E} } }`,
  grant: `mutation ($input: GrantModelInput!) { r: grantModel(input: $input) { ... on ModelGrant { id } ${E} } }`,
  revokeGrant: `mutation ($id: ID!) { r: revokeGrant(id: $id) { ... on ModelGrant { id } ${E} } }`,
  setLimit: `mutation ($input: SetRateLimitInput!) { r: setRateLimit(input: $input) { ... on RateLimit { id } ${E} } }`,
  setBudget: `mutation ($input: SetBudgetInput!) { r: setBudget(input: $input) { ... on Budget { id } ${E} } }`,
  createProvider: `mutation ($input: CreateProviderInput!) { r: createProvider(input: $input) { ... on Provider { id } ${E} } }`,
  addProviderModel: `mutation ($input: AddProviderModelInput!) { r: addProviderModel(input: $input) { ... on ProviderModel { id } ${E} } }`,
  addModelRoute: `mutation ($input: AddModelRouteInput!) { r: addModelRoute(input: $input) { ... on Model { id } ${E} } }`,
  setAccess: `mutation ($input: SetProviderAccessInput!) { r: setProviderAccess(input: $input) { ... on ProviderAccess { id } ${E} } }`,
  removeAccess: `mutation ($id: ID!) { r: removeProviderAccess(id: $id) { ... on ProviderAccess { id } ${E} } }`,
  disableUser: `mutation ($id: ID!) { r: disableUser(id: $id) { ... on User { id } ${E} } }`,
  enableUser: `mutation ($id: ID!) { r: enableUser(id: $id) { ... on User { id } ${E} } }`,
};

async function mutate(query: string, variables: Record<string, unknown>): Promise<any> {
  const { r } = await cp.ok(query, variables);
  if (r.code) throw new Error(`${r.code}: ${r.message}`);
  return r;
}

/** A user with a key, whose principal entry the tests read through that key's hash. */
async function member() {
  // Its own key is written without an event; this one is announced.
  const user = await cp.userWithKey("MEMBER");
  const { secret } = await mutate(M.createKey, { input: { userId: user.id, name: unique("key"), scopes: ["INFERENCE"] } });
  const hash = hashApiKey(secret);
  await until(() => sync.current().keysByHash.has(hash), "the user's key is served", 5_000);
  return { id: user.id, entry: () => sync.current().keysByHash.get(hash)?.principal as PrincipalEntry };
}

const group = async (...userIds: string[]) => {
  const { id } = await mutate(M.createGroup, { input: { name: unique("group") } });
  await mutate(M.addMembers, { input: { groupId: id, userIds } });
  return id as string;
};
const model = async () => (await mutate(M.createModel, { input: { slug: unique("model"), displayName: "Model" } })) as { id: string; slug: string };
const grant = async (modelId: string, subject: Record<string, string>) => (await mutate(M.grant, { input: { modelId, subject } })).id as string;

/** Commits a key revocation and waits for it: every event published before it has been received by then. */
async function eventsDelivered(userId: string) {
  const { secret, apiKey } = await mutate(M.createKey, { input: { userId, name: unique("marker"), scopes: ["INFERENCE"] } });
  const hash = hashApiKey(secret);
  await until(() => sync.current().keysByHash.has(hash), "the marker key is served", 5_000);
  return async () => {
    await mutate(M.revokeKey, { id: apiKey.id });
    await until(() => !sync.current().keysByHash.has(hash), "the marker key's revocation arrived", 2_000);
  };
}

/**
 * Cuts the instance off once it has applied every committed change. Seeing an entry right is not enough: a re-read of
 * a batch can already show the next change while that change's event is still queued, and a withdrawal behind an event
 * it cannot see through (a grant) waits for the re-read the cut makes impossible.
 */
async function cutOff() {
  const { version } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
  await until(() => sync.current().version >= version, "the snapshot covers every committed change", 5_000);
  proxy.cut("refuse");
}

/** Reconnects and re-reads; the result must be what a full build from the database gives. */
async function reconnectAndCompare(...entries: Array<() => PrincipalEntry>) {
  proxy.restore();
  await sync.refresh();
  const truth = await buildSnapshot(cp.prisma, cp.cipher, { log: () => undefined });
  for (const entry of entries) {
    const current = entry();
    const built = [...truth.keysByHash.values()].find((k) => k.principal.id === current.id)!.principal;
    expect(current.bucket).toEqual(built.bucket);
    expect([...current.models.keys()].sort()).toEqual([...built.models.keys()].sort());
  }
}

describe("changes enforced from their events, before any read", () => {
  it("a lowered rate limit and a lowered group budget apply at once; a raised limit waits for the re-read", async () => {
    const user = await member();
    const other = await member();
    const team = await group(user.id, other.id);
    await mutate(M.setLimit, { input: { subject: { userId: user.id }, requestsPerMinute: 100 } });
    await mutate(M.setBudget, { input: { subject: { groupId: team }, period: "DAILY", cap: "50.00" } });
    await until(() => user.entry().bucket.requestsPerMinute === 100 && other.entry().bucket.budgets.length === 1, "the starting caps are served", 5_000);

    await cutOff();
    await mutate(M.setLimit, { input: { subject: { userId: user.id }, requestsPerMinute: 10 } });
    await until(() => user.entry().bucket.requestsPerMinute === 10, "the lowered limit is enforced without a read", 2_000);
    await mutate(M.setBudget, { input: { subject: { groupId: team }, period: "DAILY", cap: "1.50" } });
    for (const m of [user, other]) {
      await until(() => m.entry().bucket.budgets.some((b) => b.period === "DAILY" && b.capMicros === 1_500_000n), "every member's budget is lowered", 2_000);
    }
    // Raised in one dimension, added in another: only the new cap applies before the re-read.
    await mutate(M.setLimit, { input: { subject: { userId: user.id }, requestsPerMinute: 50, tokensPerMinute: 1000 } });
    await until(() => user.entry().bucket.tokensPerMinute === 1000, "the new dimension is enforced", 2_000);
    expect(user.entry().bucket.requestsPerMinute).toBe(10);
    expect(other.entry().bucket.requestsPerMinute).toBeUndefined();

    await reconnectAndCompare(user.entry, other.entry);
    expect(user.entry().bucket.requestsPerMinute).toBe(50);
  });

  it("a revoked grant is withdrawn at once, from a user or from every member of a group, unless a group still grants the model", async () => {
    const user = await member();
    const other = await member();
    const team = await group(user.id, other.id);
    const [both, direct, teamOnly] = [await model(), await model(), await model()];
    const directGrants = { both: await grant(both.id, { userId: user.id }), direct: await grant(direct.id, { userId: user.id }) };
    await grant(both.id, { groupId: team });
    const teamGrant = await grant(teamOnly.id, { groupId: team });
    const slugs = (entry: PrincipalEntry) => [...entry.models.keys()].filter((s) => [both.slug, direct.slug, teamOnly.slug].includes(s)).sort();
    await until(() => slugs(user.entry()).length === 3 && slugs(other.entry()).length === 2, "the grants are served", 5_000);

    await cutOff();
    await mutate(M.revokeGrant, { id: directGrants.direct });
    await until(() => !user.entry().models.has(direct.slug), "the directly granted model is withdrawn without a read", 2_000);
    await mutate(M.revokeGrant, { id: directGrants.both });
    await mutate(M.revokeGrant, { id: teamGrant });
    await until(() => !user.entry().models.has(teamOnly.slug) && !other.entry().models.has(teamOnly.slug), "the group's grant is withdrawn from every member", 2_000);
    // Its direct grant revoked before the group's, the model the group also grants is still usable.
    expect(slugs(user.entry())).toEqual([both.slug]);
    expect(slugs(other.entry())).toEqual([both.slug]);

    await reconnectAndCompare(user.entry, other.entry);
    expect(slugs(user.entry())).toEqual([both.slug]);
  });

  it("a disabled user's keys are refused at once, and come back only with the re-read after they are enabled", async () => {
    const user = await member();
    const other = await member();
    const { secret } = await mutate(M.createKey, { input: { userId: user.id, name: unique("second"), scopes: ["INFERENCE"] } });
    const second = hashApiKey(secret);
    await until(() => sync.current().keysByHash.has(second), "the second key is served", 5_000);
    const keysOf = (id: string) => [...sync.current().keysByHash.values()].filter((k) => k.principal.id === id).length;
    // The two announced keys, and the one userWithKey wrote (read along with them).
    const served = keysOf(user.id);
    expect(served).toBe(3);
    const othersKeys = keysOf(other.id);

    await cutOff();
    await mutate(M.disableUser, { id: user.id });
    await until(() => keysOf(user.id) === 0, "every key of the disabled user is refused without a read", 2_000);
    expect(keysOf(other.id)).toBe(othersKeys);
    await mutate(M.enableUser, { id: user.id });
    await sleep(50);
    expect(keysOf(user.id)).toBe(0);

    proxy.restore();
    await sync.refresh();
    expect(keysOf(user.id)).toBe(served);
  });

  it("removed provider access is withdrawn at once, from a user and from every member of a group", async () => {
    const user = await member();
    const other = await member();
    const team = await group(user.id, other.id);
    const provider = await mutate(M.createProvider, { input: { name: unique("provider"), kind: "openai", baseUrl: "http://127.0.0.1:9/v1", credentials: "sk-test" } });
    const upstream = await mutate(M.addProviderModel, { input: { providerId: provider.id, upstreamName: "m", inputPricePerMTok: "1", outputPricePerMTok: "2" } });
    const routed = await model();
    await mutate(M.addModelRoute, { input: { modelId: routed.id, providerModelId: upstream.id } });
    const direct = (await mutate(M.setAccess, { input: { providerId: provider.id, subject: { userId: user.id }, level: "USER" } })).id as string;
    const shared = (await mutate(M.setAccess, { input: { providerId: provider.id, subject: { groupId: team }, level: "USER" } })).id as string;
    await until(() => user.entry().models.has(routed.slug) && other.entry().models.has(routed.slug), "the provider's model is served through access", 5_000);

    await cutOff();
    await mutate(M.removeAccess, { id: direct });
    await mutate(M.removeAccess, { id: shared });
    await until(() => !user.entry().models.has(routed.slug) && !other.entry().models.has(routed.slug), "the access is withdrawn from every member without a read", 2_000);

    await reconnectAndCompare(user.entry, other.entry);
    expect(user.entry().models.has(routed.slug)).toBe(false);
  });

  it("a provider access removed while a group still has it keeps the provider's models", async () => {
    const user = await member();
    const team = await group(user.id);
    const provider = await mutate(M.createProvider, { input: { name: unique("provider"), kind: "openai", baseUrl: "http://127.0.0.1:9/v1", credentials: "sk-test" } });
    const upstream = await mutate(M.addProviderModel, { input: { providerId: provider.id, upstreamName: "m", inputPricePerMTok: "1", outputPricePerMTok: "2" } });
    const routed = await model();
    await mutate(M.addModelRoute, { input: { modelId: routed.id, providerModelId: upstream.id } });
    const direct = (await mutate(M.setAccess, { input: { providerId: provider.id, subject: { userId: user.id }, level: "USER" } })).id as string;
    await mutate(M.setAccess, { input: { providerId: provider.id, subject: { groupId: team }, level: "USER" } });
    await until(() => user.entry().models.has(routed.slug), "the provider's model is served through access", 5_000);
    const delivered = await eventsDelivered(user.id);

    await cutOff();
    await mutate(M.removeAccess, { id: direct });
    await delivered();
    expect(user.entry().models.has(routed.slug)).toBe(true);

    await reconnectAndCompare(user.entry);
    expect(user.entry().models.has(routed.slug)).toBe(true);
  });

  it("while the database is away, a grant revoked after changes that cannot touch grants (a new key) is still withdrawn at once", async () => {
    const user = await member();
    const granted = await model();
    const grantId = await grant(granted.id, { userId: user.id });
    await until(() => user.entry().models.has(granted.slug), "the grant is served", 5_000);

    await cutOff();
    // Its re-read fails while cut off; the sync gives up on the queued events until it can rebuild.
    await mutate(M.createKey, { input: { userId: user.id, name: unique("during"), scopes: ["INFERENCE"] } });
    await sleep(100);
    await mutate(M.revokeGrant, { id: grantId });
    await until(() => !user.entry().models.has(granted.slug), "the grant is withdrawn without a read", 2_000);

    await reconnectAndCompare(user.entry);
  });

  it("a revoked grant behind a change its event cannot describe (a new grant) waits for the re-read", async () => {
    const user = await member();
    const [kept, added] = [await model(), await model()];
    const grantId = await grant(kept.id, { userId: user.id });
    await until(() => user.entry().models.has(kept.slug), "the grant is served", 5_000);
    const delivered = await eventsDelivered(user.id);

    await cutOff();
    await grant(added.id, { userId: user.id });
    await mutate(M.revokeGrant, { id: grantId });
    await delivered();
    await sleep(50);
    // Withdrawing it from grant lists that lack the new grant would be a guess; the old state keeps serving.
    expect(user.entry().models.has(kept.slug)).toBe(true);
    expect(user.entry().models.has(added.slug)).toBe(false);

    await reconnectAndCompare(user.entry);
    expect(user.entry().models.has(kept.slug)).toBe(false);
    expect(user.entry().models.has(added.slug)).toBe(true);
  });
});
