// API keys through the real HTTP API: secrets shown once and never stored, rotation with grace, revocation,
// expiry, who may manage which keys, narrowing, and the audit trail.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashApiKey } from "../../shared/api-key-format.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const KEY = `id name prefix scopes modelSlugs expiresAt revokedAt status user { id } virtualAccount { id }
  rateLimit { requestsPerMinute requestsPerSecond tokensPerMinute concurrentRequests } budgets { period cap }`;
const ERRORS = `... on Error { code message } ... on ValidationError { issues { path message } } ... on NotFoundError { entity }`;
const CREATE = `mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { __typename ... on CreatedApiKey { secret apiKey { ${KEY} } } ${ERRORS} } }`;
const UPDATE = `mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { __typename ... on ApiKey { ${KEY} } ${ERRORS} } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKey { ${KEY} } ${ERRORS} } }`;
const ROTATE = `mutation ($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { __typename ... on CreatedApiKey { secret apiKey { ${KEY} } } ${ERRORS} } }`;
/** Answers for any active key with the admin scope; a member may only name themself. */
const OWN_KEYS = `query ($userId: ID) { apiKeys(userId: $userId) { totalCount } }`;

const unique = () => randomBytes(4).toString("hex");
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

async function createKey(input: Record<string, unknown>, as: string = cp.ownerKey) {
  const { createApiKey } = await cp.as(as).ok(CREATE, { input });
  expect(createApiKey.__typename).toBe("CreatedApiKey");
  return createApiKey as { secret: string; apiKey: Record<string, any> };
}

/** The HTTP status of a control-plane request made with the key (200 when it is accepted). */
async function statusWith(secret: string, userId: string) {
  const response = await cp.as(secret).gql(OWN_KEYS, { userId });
  return { status: response.status, code: response.errors?.[0]?.extensions?.code };
}

async function auditCount() {
  return cp.prisma.auditEvent.count();
}

describe("API keys: secrets", () => {
  it("a user creates their own key: the secret (tg_pat_…) is returned once and stored nowhere, only its hash", async () => {
    const member = await cp.userWithKey("MEMBER");
    const { secret, apiKey } = await createKey({ name: "laptop", scopes: ["ADMIN", "INFERENCE"] }, member.secret);
    expect(secret).toMatch(/^tg_pat_[0-9A-Za-z]{49}$/);
    expect(apiKey).toMatchObject({ name: "laptop", status: "ACTIVE", user: { id: member.id }, virtualAccount: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.scopes.sort()).toEqual(["ADMIN", "INFERENCE"]);

    const stored = await cp.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } });
    expect(stored.hash).toBe(hashApiKey(secret));
    const allKeys = JSON.stringify(await cp.prisma.apiKey.findMany());
    expect(allKeys).not.toContain(secret);
    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: apiKey.id } });
    expect(audit.map((a) => a.action)).toEqual(["apiKey.create"]);
    const auditText = JSON.stringify(audit.map((a) => ({ before: a.before, after: a.after })));
    expect(auditText).not.toContain(secret);
    expect(auditText).not.toContain(stored.hash);
    expect(auditText).toContain(apiKey.prefix);

    expect(await statusWith(secret, member.id)).toEqual({ status: 200, code: undefined });
  });

  it("keys default to the INFERENCE scope, and an INFERENCE-only key is refused on the control plane with 403", async () => {
    const member = await cp.userWithKey("MEMBER");
    const { secret, apiKey } = await createKey({ name: "cli" }, member.secret);
    expect(apiKey.scopes).toEqual(["INFERENCE"]);
    expect(await statusWith(secret, member.id)).toEqual({ status: 403, code: "FORBIDDEN" });
  });
});

describe("API keys: rotation, revocation, expiry", () => {
  it("rotating with a grace period keeps the old key working until the grace ends, then refuses it with 401", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const old = await createKey({ name: "ci", userId: admin.id, scopes: ["ADMIN"] });
    const { rotateApiKey } = await cp.ok(ROTATE, { input: { id: old.apiKey.id, gracePeriodSeconds: 3600 } });
    expect(rotateApiKey.__typename).toBe("CreatedApiKey");
    expect(rotateApiKey.secret).not.toBe(old.secret);
    expect(rotateApiKey.apiKey).toMatchObject({ name: "ci", scopes: ["ADMIN"], user: { id: admin.id }, status: "ACTIVE" });

    expect((await statusWith(old.secret, admin.id)).status).toBe(200);
    expect((await statusWith(rotateApiKey.secret, admin.id)).status).toBe(200);
    const graceEnd = (await cp.prisma.apiKey.findUniqueOrThrow({ where: { id: old.apiKey.id } })).expiresAt!;
    expect(Math.abs(graceEnd.getTime() - (Date.now() + 3_600_000))).toBeLessThan(60_000);

    // The grace period ends.
    await cp.prisma.apiKey.update({ where: { id: old.apiKey.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await statusWith(old.secret, admin.id)).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    expect((await statusWith(rotateApiKey.secret, admin.id)).status).toBe(200);
  });

  it("rotating with no grace refuses the old key at once", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const old = await createKey({ name: "deploy", userId: admin.id, scopes: ["ADMIN"] });
    const { rotateApiKey } = await cp.as(admin.secret).ok(ROTATE, { input: { id: old.apiKey.id } });
    expect(rotateApiKey.__typename).toBe("CreatedApiKey");
    expect(await statusWith(old.secret, admin.id)).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    expect((await statusWith(rotateApiKey.secret, admin.id)).status).toBe(200);
    const oldKey = await cp.prisma.apiKey.findUniqueOrThrow({ where: { id: old.apiKey.id } });
    expect(oldKey.revokedAt).not.toBeNull();
  });

  it("the grace never extends the old key past its own expiry, and is at most 7 days", async () => {
    const member = await cp.userWithKey("MEMBER");
    const expiresAt = new Date(Date.now() + 60_000).toISOString();
    const old = await createKey({ name: "short", expiresAt }, member.secret);
    const tooLong = await cp.as(member.secret).ok(ROTATE, { input: { id: old.apiKey.id, gracePeriodSeconds: 7 * 86_400 + 1 } });
    expect(tooLong.rotateApiKey).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    const { rotateApiKey } = await cp.as(member.secret).ok(ROTATE, { input: { id: old.apiKey.id, gracePeriodSeconds: 7 * 86_400 } });
    expect(rotateApiKey.__typename).toBe("CreatedApiKey");
    const oldKey = await cp.prisma.apiKey.findUniqueOrThrow({ where: { id: old.apiKey.id } });
    expect(oldKey.expiresAt!.toISOString()).toBe(expiresAt);
  });

  it("a revoked key is refused with 401 on the next request; revoking again is fine; it cannot be rotated", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const { secret, apiKey } = await createKey({ name: "revoke-me", userId: admin.id, scopes: ["ADMIN"] });
    expect((await statusWith(secret, admin.id)).status).toBe(200);
    const first = await cp.as(admin.secret).ok(REVOKE, { id: apiKey.id });
    expect(first.revokeApiKey).toMatchObject({ __typename: "ApiKey", status: "REVOKED" });
    expect(await statusWith(secret, admin.id)).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const again = await cp.as(admin.secret).ok(REVOKE, { id: apiKey.id });
    expect(again.revokeApiKey).toMatchObject({ __typename: "ApiKey", status: "REVOKED", revokedAt: first.revokeApiKey.revokedAt });
    const rotate = await cp.ok(ROTATE, { input: { id: apiKey.id } });
    expect(rotate.rotateApiKey).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
  });

  it("an expired key is refused with 401 and shows as EXPIRED", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const { secret, apiKey } = await createKey({ name: "temp", userId: admin.id, scopes: ["ADMIN"], expiresAt: inAnHour() });
    expect((await statusWith(secret, admin.id)).status).toBe(200);
    await cp.prisma.apiKey.update({ where: { id: apiKey.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await statusWith(secret, admin.id)).toEqual({ status: 401, code: "UNAUTHENTICATED" });
    const { apiKeys } = await cp.ok(`query ($id: ID!) { apiKeys(userId: $id) { edges { node { id status } } } }`, { id: admin.id });
    expect(apiKeys.edges.find((e: any) => e.node.id === apiKey.id).node.status).toBe("EXPIRED");
  });

  it("a disabled owner's keys are refused with 401", async () => {
    const member = await cp.userWithKey("MEMBER");
    const { secret } = await createKey({ name: "mine", scopes: ["ADMIN"] }, member.secret);
    expect((await statusWith(secret, member.id)).status).toBe(200);
    await cp.prisma.user.update({ where: { id: member.id }, data: { status: "DISABLED" } });
    expect(await statusWith(secret, member.id)).toEqual({ status: 401, code: "UNAUTHENTICATED" });
  });
});

describe("API keys: who may manage which keys", () => {
  it("a member cannot create a key for another user or a virtual account: FORBIDDEN and nothing is created", async () => {
    const member = await cp.userWithKey("MEMBER");
    const other = await cp.userWithKey("MEMBER");
    const account = await cp.prisma.virtualAccount.create({ data: { name: `svc-${unique()}` } });
    const keys = await cp.prisma.apiKey.count();
    const audits = await auditCount();
    for (const owner of [{ userId: other.id }, { virtualAccountId: account.id }]) {
      const result = await cp.as(member.secret).gql(CREATE, { input: { name: "sneaky", ...owner } });
      expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    expect(await cp.prisma.apiKey.count()).toBe(keys);
    expect(await auditCount()).toBe(audits);
  });

  it("a member cannot revoke, change or rotate another user's key, nor learn whether a key id exists: FORBIDDEN", async () => {
    const member = await cp.userWithKey("MEMBER");
    const other = await cp.userWithKey("MEMBER");
    const { secret, apiKey } = await createKey({ name: "theirs", scopes: ["ADMIN"] }, other.secret);
    const missing = "00000000-0000-4000-8000-000000000000";
    for (const id of [apiKey.id, missing, "not-a-uuid"]) {
      const attempts = [
        cp.as(member.secret).gql(REVOKE, { id }),
        cp.as(member.secret).gql(UPDATE, { input: { id, name: "mine now" } }),
        cp.as(member.secret).gql(ROTATE, { input: { id } }),
      ];
      for (const result of await Promise.all(attempts)) expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    }
    expect(await cp.prisma.apiKey.count({ where: { userId: other.id } })).toBe(2);
    expect((await statusWith(secret, other.id)).status).toBe(200);
    const listed = await cp.as(member.secret).gql(OWN_KEYS, { userId: other.id });
    expect(listed.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });

  it("a member manages their own keys", async () => {
    const member = await cp.userWithKey("MEMBER");
    const { apiKey } = await createKey({ name: "own" }, member.secret);
    const renamed = await cp.as(member.secret).ok(UPDATE, { input: { id: apiKey.id, name: "own, renamed" } });
    expect(renamed.updateApiKey).toMatchObject({ __typename: "ApiKey", name: "own, renamed" });
    const rotated = await cp.as(member.secret).ok(ROTATE, { input: { id: apiKey.id, gracePeriodSeconds: 60 } });
    expect(rotated.rotateApiKey.apiKey.name).toBe("own, renamed");
    const revoked = await cp.as(member.secret).ok(REVOKE, { id: rotated.rotateApiKey.apiKey.id });
    expect(revoked.revokeApiKey.status).toBe("REVOKED");
  });

  it("an admin can revoke anyone's key, and gets NOT_FOUND for an unknown one", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const member = await cp.userWithKey("MEMBER");
    const { secret, apiKey } = await createKey({ name: "member's", scopes: ["ADMIN"] }, member.secret);
    const { revokeApiKey } = await cp.as(admin.secret).ok(REVOKE, { id: apiKey.id });
    expect(revokeApiKey).toMatchObject({ __typename: "ApiKey", status: "REVOKED" });
    expect((await statusWith(secret, member.id)).status).toBe(401);
    const missing = await cp.as(admin.secret).ok(REVOKE, { id: "00000000-0000-4000-8000-000000000000" });
    expect(missing.revokeApiKey).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "ApiKey" });
  });
});

describe("API keys: virtual accounts and validation", () => {
  it("an admin creates a virtual account's key (tg_va_…); it cannot have the ADMIN scope", async () => {
    const account = await cp.prisma.virtualAccount.create({ data: { name: `svc-${unique()}` } });
    const keys = await cp.prisma.apiKey.count();
    const audits = await auditCount();
    const refused = await cp.ok(CREATE, { input: { name: "svc", virtualAccountId: account.id, scopes: ["ADMIN", "INFERENCE"] } });
    expect(refused.createApiKey).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    expect(refused.createApiKey.issues[0].path).toBe("scopes");
    expect(await cp.prisma.apiKey.count()).toBe(keys);
    expect(await auditCount()).toBe(audits);

    const { secret, apiKey } = await createKey({ name: "svc", virtualAccountId: account.id });
    expect(secret).toMatch(/^tg_va_/);
    expect(apiKey).toMatchObject({ user: null, virtualAccount: { id: account.id }, scopes: ["INFERENCE"] });
    const { virtualAccount } = await cp.ok(`query ($id: ID!) { virtualAccount(id: $id) { apiKeys { id } } }`, { id: account.id });
    expect(virtualAccount.apiKeys).toEqual([{ id: apiKey.id }]);
  });

  it("unknown model slugs are refused with VALIDATION naming them, and nothing is created", async () => {
    const slug = `chat-${unique()}`;
    await cp.prisma.model.create({ data: { slug, displayName: "Chat" } });
    const keys = await cp.prisma.apiKey.count();
    const { createApiKey } = await cp.ok(CREATE, { input: { name: "narrow", modelSlugs: [slug, "nope-1", "nope-2"] } });
    expect(createApiKey).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    expect(createApiKey.issues).toEqual([{ path: "modelSlugs", message: "unknown model slugs: nope-1, nope-2" }]);
    expect(await cp.prisma.apiKey.count()).toBe(keys);
  });

  it("refuses a past expiry, negative limits or caps, repeated periods and two owners with VALIDATION", async () => {
    const account = await cp.prisma.virtualAccount.create({ data: { name: `svc-${unique()}` } });
    const someone = await cp.userWithKey("MEMBER");
    const keys = await cp.prisma.apiKey.count();
    const bad = [
      { name: "past", expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { name: "neg", rateLimit: { requestsPerMinute: -1 } },
      { name: "neg-cap", budgets: [{ period: "DAILY", cap: "-1.00" }] },
      { name: "twice", budgets: [{ period: "DAILY", cap: "1.00" }, { period: "DAILY", cap: "2.00" }] },
      { name: "  " },
      { name: "two owners", userId: someone.id, virtualAccountId: account.id },
    ];
    for (const input of bad) {
      const { createApiKey } = await cp.ok(CREATE, { input });
      expect(createApiKey, input.name).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    }
    expect(await cp.prisma.apiKey.count()).toBe(keys);
  });

  it("a key's narrowing (models, own rate limit, budgets) is stored, shown on the key, carried by rotation and replaceable", async () => {
    const member = await cp.userWithKey("MEMBER");
    const [fast, smart] = [`fast-${unique()}`, `smart-${unique()}`];
    await cp.prisma.model.createMany({ data: [{ slug: fast, displayName: "Fast" }, { slug: smart, displayName: "Smart" }] });
    const { apiKey } = await createKey({
      name: "narrow",
      userId: member.id,
      modelSlugs: [fast, smart, fast],
      rateLimit: { requestsPerMinute: 10, requestsPerSecond: 3, tokensPerMinute: 5000 },
      budgets: [{ period: "MONTHLY", cap: "50.00" }, { period: "DAILY", cap: "2.50" }],
    });
    const narrowing = {
      modelSlugs: [fast, smart],
      rateLimit: { requestsPerMinute: 10, requestsPerSecond: 3, tokensPerMinute: 5000, concurrentRequests: null },
      budgets: [{ period: "DAILY", cap: "2.50" }, { period: "MONTHLY", cap: "50.00" }],
    };
    expect(apiKey).toMatchObject(narrowing);
    const limit = await cp.prisma.rateLimit.findUniqueOrThrow({ where: { apiKeyId: apiKey.id } });
    expect(limit).toMatchObject({ requestsPerMinute: 10, requestsPerSecond: 3, tokensPerMinute: 5000, userId: null });
    const budgets = await cp.prisma.budget.findMany({ where: { apiKeyId: apiKey.id }, orderBy: { period: "asc" } });
    expect(budgets.map((b) => [b.period, b.capMicros])).toEqual([["DAILY", 2_500_000n], ["MONTHLY", 50_000_000n]]);
    // The owner's own limit and budgets are untouched.
    expect(await cp.prisma.rateLimit.count({ where: { userId: member.id } })).toBe(0);

    const { rotateApiKey } = await cp.ok(ROTATE, { input: { id: apiKey.id } });
    expect(rotateApiKey.apiKey).toMatchObject({ ...narrowing, name: "narrow", user: { id: member.id } });

    const { updateApiKey } = await cp.ok(UPDATE, {
      input: { id: rotateApiKey.apiKey.id, modelSlugs: [smart], rateLimit: null, budgets: [{ period: "TOTAL", cap: "100" }] },
    });
    expect(updateApiKey).toMatchObject({ modelSlugs: [smart], rateLimit: null, budgets: [{ period: "TOTAL", cap: "100.00" }], name: "narrow" });
    expect(await cp.prisma.rateLimit.count({ where: { apiKeyId: rotateApiKey.apiKey.id } })).toBe(0);
    const unknown = await cp.ok(UPDATE, { input: { id: rotateApiKey.apiKey.id, modelSlugs: ["missing-model"] } });
    expect(unknown.updateApiKey).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
  });
});

describe("API keys: lists and audit", () => {
  it("lists keys newest first, hides revoked keys unless asked, and shows members only their own", async () => {
    const member = await cp.userWithKey("MEMBER");
    const a = await createKey({ name: "a" }, member.secret);
    const b = await createKey({ name: "b" }, member.secret);
    await cp.ok(REVOKE, { id: a.apiKey.id });
    const LIST = `query ($userId: ID, $all: Boolean) { apiKeys(userId: $userId, includeRevoked: $all) { totalCount edges { node { name user { id } } } } }`;
    const mine = await cp.as(member.secret).ok(LIST, {});
    expect(mine.apiKeys.edges.map((e: any) => e.node.name)).toEqual(["b", "test"]);
    expect(mine.apiKeys.edges.every((e: any) => e.node.user.id === member.id)).toBe(true);
    const all = await cp.ok(LIST, { userId: member.id, all: true });
    expect(all.apiKeys).toMatchObject({ totalCount: 3 });
    expect(all.apiKeys.edges.map((e: any) => e.node.name)).toEqual(["b", "a", "test"]);
    const { user } = await cp.ok(`query ($id: ID!) { user(id: $id) { apiKeys(includeRevoked: true) { name status } } }`, { id: member.id });
    expect(user.apiKeys.map((k: any) => [k.name, k.status])).toEqual([["b", "ACTIVE"], ["a", "REVOKED"], ["test", "ACTIVE"]]);
    expect(b.apiKey.status).toBe("ACTIVE");
  });

  it("loads keys with their owners, limits and budgets without a query per key", async () => {
    const member = await cp.userWithKey("MEMBER");
    const LIST = `query ($id: ID!) { apiKeys(userId: $id) { edges { node { id user { email } rateLimit { requestsPerMinute } budgets { cap } } } } }`;
    await createKey({ name: "one", userId: member.id, rateLimit: { requestsPerMinute: 1 }, budgets: [{ period: "DAILY", cap: "1" }] });
    await cp.ok(LIST, { id: member.id });
    const few = await cp.countQueries(() => cp.ok(LIST, { id: member.id }));
    for (const name of ["two", "three", "four"]) {
      await createKey({ name, userId: member.id, rateLimit: { requestsPerMinute: 1 }, budgets: [{ period: "DAILY", cap: "1" }] });
    }
    const many = await cp.countQueries(() => cp.ok(LIST, { id: member.id }));
    expect(many).toBe(few);
  });

  it("every key mutation writes its audit event, with the prefix and never the secret or hash", async () => {
    const member = await cp.userWithKey("MEMBER");
    const created = await createKey({ name: "audited", scopes: ["ADMIN"] }, member.secret);
    await cp.as(member.secret).ok(UPDATE, { input: { id: created.apiKey.id, name: "audited 2" } });
    const { rotateApiKey } = await cp.as(member.secret).ok(ROTATE, { input: { id: created.apiKey.id, gracePeriodSeconds: 10 } });
    await cp.as(member.secret).ok(REVOKE, { id: rotateApiKey.apiKey.id });

    const ids = [created.apiKey.id, rotateApiKey.apiKey.id];
    const audit = await cp.prisma.auditEvent.findMany({ where: { targetType: "ApiKey", targetId: { in: ids } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["apiKey.create", "apiKey.update", "apiKey.rotate", "apiKey.revoke"]);
    expect(audit.every((a) => a.actorId === member.id)).toBe(true);
    const hashes = (await cp.prisma.apiKey.findMany({ where: { id: { in: ids } } })).map((k) => k.hash);
    const text = JSON.stringify(audit.map((a) => [a.before, a.after]));
    for (const secret of [created.secret, rotateApiKey.secret, ...hashes]) expect(text).not.toContain(secret);
    expect(text).toContain(created.apiKey.prefix);
    expect(text).toContain(rotateApiKey.apiKey.prefix);
  });
});
