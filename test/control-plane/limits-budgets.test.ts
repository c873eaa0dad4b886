import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const RESULT = (fields: string) => /* GraphQL */ `
  __typename
  ... on Error { code message }
  ... on ValidationError { issues { path message } }
  ... on NotFoundError { entity missingId: id }
  ${fields}`;

const LIMIT_FIELDS = `id requestsPerMinute requestsPerSecond tokensPerMinute concurrentRequests user { id } group { id } virtualAccount { id }`;
const SET_LIMIT = `mutation ($input: SetRateLimitInput!) { setRateLimit(input: $input) { ${RESULT(`... on RateLimit { ${LIMIT_FIELDS} }`)} } }`;
const CLEAR_LIMIT = `mutation ($subject: SubjectInput!) { clearRateLimit(subject: $subject) { ${RESULT("... on ClearResult { cleared }")} } }`;
const SET_BUDGET = `mutation ($input: SetBudgetInput!) { setBudget(input: $input) { ${RESULT("... on Budget { id period cap user { id } group { id } virtualAccount { id } }")} } }`;
const CLEAR_BUDGET = `mutation ($input: ClearBudgetInput!) { clearBudget(input: $input) { ${RESULT("... on ClearResult { cleared }")} } }`;
const MISSING = "00000000-0000-4000-8000-000000000000";

let seq = 0;
async function setup() {
  const n = ++seq;
  const user = await cp.prisma.user.create({ data: { email: `user${n}@limits.test`, name: `User ${n}` } });
  const group = await cp.prisma.group.create({ data: { name: `Group ${n}` } });
  const account = await cp.prisma.virtualAccount.create({ data: { name: `app-${n}` } });
  return { user, group, account };
}

async function counts() {
  return { limits: await cp.prisma.rateLimit.count(), budgets: await cp.prisma.budget.count(), audit: await cp.prisma.auditEvent.count() };
}

function auditFor(targetId: string) {
  return cp.prisma.auditEvent.findMany({ where: { targetId }, orderBy: { id: "asc" } });
}

describe("rate limits", () => {
  it("sets a limit, keeps omitted dimensions, removes one with null and audits old and new values", async () => {
    const { user } = await setup();
    const subject = { userId: user.id };
    const created = (await cp.ok(SET_LIMIT, { input: { subject, requestsPerMinute: 100, tokensPerMinute: 50_000 } })).setRateLimit;
    expect(created).toMatchObject({ __typename: "RateLimit", requestsPerMinute: 100, tokensPerMinute: 50_000, concurrentRequests: null, user: { id: user.id } });

    const changed = (await cp.ok(SET_LIMIT, { input: { subject, tokensPerMinute: null, concurrentRequests: 4 } })).setRateLimit;
    expect(changed).toMatchObject({ id: created.id, requestsPerMinute: 100, tokensPerMinute: null, concurrentRequests: 4 });
    expect(await cp.prisma.rateLimit.count({ where: { userId: user.id } })).toBe(1);

    const audit = await auditFor(user.id);
    expect(audit.map((a) => [a.action, a.targetType])).toEqual([
      ["rateLimit.set", "User"],
      ["rateLimit.set", "User"],
    ]);
    expect(audit[0]!.before).toBeNull();
    expect(audit[1]!.before).toEqual({ requestsPerMinute: 100, requestsPerSecond: null, tokensPerMinute: 50_000, concurrentRequests: null });
    expect(audit[1]!.after).toMatchObject({ requestsPerMinute: 100, tokensPerMinute: null, concurrentRequests: 4 });
  });

  it("sets a per-second burst limit beside the per-minute one, clears it with null, and refuses a negative one", async () => {
    const { group } = await setup();
    const subject = { groupId: group.id };
    const set = (await cp.ok(SET_LIMIT, { input: { subject, requestsPerMinute: 600, requestsPerSecond: 20 } })).setRateLimit;
    expect(set).toMatchObject({ __typename: "RateLimit", requestsPerMinute: 600, requestsPerSecond: 20, group: { id: group.id } });
    const negative = (await cp.ok(SET_LIMIT, { input: { subject, requestsPerSecond: -1 } })).setRateLimit;
    expect(negative).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "requestsPerSecond" }] });
    const cleared = (await cp.ok(SET_LIMIT, { input: { subject, requestsPerSecond: null } })).setRateLimit;
    expect(cleared).toMatchObject({ requestsPerMinute: 600, requestsPerSecond: null });
    const audit = await auditFor(group.id);
    expect(audit.at(-1)!.after).toMatchObject({ requestsPerMinute: 600, requestsPerSecond: null });
    expect(audit.at(-1)!.before).toMatchObject({ requestsPerSecond: 20 });
  });

  it("shows each subject's own limit on the group, user and virtual account", async () => {
    const { user, group, account } = await setup();
    await cp.ok(SET_LIMIT, { input: { subject: { groupId: group.id }, requestsPerMinute: 60 } });
    const read = await cp.ok(`query ($id: ID!) { group(id: $id) { rateLimit { requestsPerMinute tokensPerMinute } } }`, { id: group.id });
    expect(read.group.rateLimit).toEqual({ requestsPerMinute: 60, tokensPerMinute: null });

    const viaLimit = await cp.ok(
      `mutation ($u: SetRateLimitInput!, $a: SetRateLimitInput!) {
        u: setRateLimit(input: $u) { ... on RateLimit { user { rateLimit { requestsPerMinute } } } }
        a: setRateLimit(input: $a) { ... on RateLimit { virtualAccount { rateLimit { concurrentRequests } } } }
      }`,
      { u: { subject: { userId: user.id }, requestsPerMinute: 10 }, a: { subject: { virtualAccountId: account.id }, concurrentRequests: 2 } },
    );
    expect(viaLimit.u.user.rateLimit).toEqual({ requestsPerMinute: 10 });
    expect(viaLimit.a.virtualAccount.rateLimit).toEqual({ concurrentRequests: 2 });

    const { clearRateLimit } = await cp.ok(CLEAR_LIMIT, { subject: { groupId: group.id } });
    expect(clearRateLimit).toEqual({ __typename: "ClearResult", cleared: true });
    const after = await cp.ok(`query ($id: ID!) { group(id: $id) { rateLimit { id } } }`, { id: group.id });
    expect(after.group.rateLimit).toBeNull();
  });

  it("refuses a negative limit with VALIDATION and changes nothing", async () => {
    const { user } = await setup();
    await cp.ok(SET_LIMIT, { input: { subject: { userId: user.id }, requestsPerMinute: 100 } });
    const before = await counts();
    const { setRateLimit } = await cp.ok(SET_LIMIT, { input: { subject: { userId: user.id }, requestsPerMinute: 5, tokensPerMinute: -1 } });
    expect(setRateLimit).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "tokensPerMinute" }] });
    expect(await counts()).toEqual(before);
    expect(await cp.prisma.rateLimit.findUnique({ where: { userId: user.id } })).toMatchObject({ requestsPerMinute: 100, tokensPerMinute: null });
  });

  it("clears a limit and audits it; clearing again reports nothing cleared", async () => {
    const { account } = await setup();
    const subject = { virtualAccountId: account.id };
    await cp.ok(SET_LIMIT, { input: { subject, requestsPerMinute: 30 } });
    expect((await cp.ok(CLEAR_LIMIT, { subject })).clearRateLimit).toEqual({ __typename: "ClearResult", cleared: true });
    expect(await cp.prisma.rateLimit.count({ where: { virtualAccountId: account.id } })).toBe(0);
    expect((await cp.ok(CLEAR_LIMIT, { subject })).clearRateLimit).toEqual({ __typename: "ClearResult", cleared: false });

    const audit = await auditFor(account.id);
    expect(audit.map((a) => [a.action, a.targetType])).toEqual([
      ["rateLimit.set", "VirtualAccount"],
      ["rateLimit.clear", "VirtualAccount"],
      ["rateLimit.clear", "VirtualAccount"],
    ]);
    expect(audit[1]!.before).toEqual({ requestsPerMinute: 30, requestsPerSecond: null, tokensPerMinute: null, concurrentRequests: null });
    expect(audit[2]!.before).toBeNull();
  });

  it("refuses a bad subject with VALIDATION and an unknown one with NOT_FOUND, changing nothing", async () => {
    const { user, group } = await setup();
    const before = await counts();
    const two = (await cp.ok(SET_LIMIT, { input: { subject: { userId: user.id, groupId: group.id }, requestsPerMinute: 1 } })).setRateLimit;
    expect(two).toMatchObject({ __typename: "ValidationError", issues: [{ path: "subject" }] });
    const none = (await cp.ok(CLEAR_LIMIT, { subject: {} })).clearRateLimit;
    expect(none).toMatchObject({ __typename: "ValidationError", issues: [{ path: "subject" }] });
    const unknown = (await cp.ok(SET_LIMIT, { input: { subject: { groupId: MISSING }, requestsPerMinute: 1 } })).setRateLimit;
    expect(unknown).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "Group", missingId: MISSING });
    const unknownClear = (await cp.ok(CLEAR_LIMIT, { subject: { userId: MISSING } })).clearRateLimit;
    expect(unknownClear).toMatchObject({ __typename: "NotFoundError", entity: "User" });
    expect(await counts()).toEqual(before);
  });
});

describe("budgets", () => {
  it("sets budgets whose caps round-trip exactly, lists them by period and audits old and new cap", async () => {
    const { group } = await setup();
    const subject = { groupId: group.id };
    const monthly = (await cp.ok(SET_BUDGET, { input: { subject, period: "MONTHLY", cap: "500" } })).setBudget;
    const daily = (await cp.ok(SET_BUDGET, { input: { subject, period: "DAILY", cap: "20.00" } })).setBudget;
    expect(daily).toMatchObject({ __typename: "Budget", period: "DAILY", cap: "20.00", group: { id: group.id }, user: null });
    expect(monthly.cap).toBe("500.00");
    expect(await cp.prisma.budget.findUnique({ where: { id: daily.id } })).toMatchObject({ capMicros: 20_000_000n });

    const raised = (await cp.ok(SET_BUDGET, { input: { subject, period: "DAILY", cap: "20.123456" } })).setBudget;
    expect(raised).toMatchObject({ id: daily.id, cap: "20.123456" });

    const read = await cp.ok(`query ($id: ID!) { group(id: $id) { budgets { period cap } } }`, { id: group.id });
    expect(read.group.budgets).toEqual([
      { period: "DAILY", cap: "20.123456" },
      { period: "MONTHLY", cap: "500.00" },
    ]);

    const audit = (await auditFor(group.id)).filter((a) => a.action.startsWith("budget."));
    expect(audit.map((a) => [a.action, a.targetType])).toEqual([
      ["budget.set", "Group"],
      ["budget.set", "Group"],
      ["budget.set", "Group"],
    ]);
    expect(audit[1]!.before).toBeNull();
    expect(audit[1]!.after).toMatchObject({ period: "DAILY", cap: "20.00" });
    expect(audit[2]!.before).toEqual({ period: "DAILY", cap: "20.00" });
    expect(audit[2]!.after).toMatchObject({ period: "DAILY", cap: "20.123456" });
  });

  it("shows the budgets of users and virtual accounts", async () => {
    const { user, account } = await setup();
    const result = await cp.ok(
      `mutation ($u: SetBudgetInput!, $a: SetBudgetInput!) {
        u: setBudget(input: $u) { ... on Budget { user { budgets { period cap } } } }
        a: setBudget(input: $a) { ... on Budget { virtualAccount { budgets { period cap } } } }
      }`,
      {
        u: { subject: { userId: user.id }, period: "WEEKLY", cap: "0" },
        a: { subject: { virtualAccountId: account.id }, period: "TOTAL", cap: "1000.5" },
      },
    );
    expect(result.u.user.budgets).toEqual([{ period: "WEEKLY", cap: "0.00" }]);
    expect(result.a.virtualAccount.budgets).toEqual([{ period: "TOTAL", cap: "1000.50" }]);
  });

  it("refuses a negative cap with VALIDATION and a malformed one with a GraphQL error, changing nothing", async () => {
    const { user } = await setup();
    const subject = { userId: user.id };
    await cp.ok(SET_BUDGET, { input: { subject, period: "DAILY", cap: "20.00" } });
    const before = await counts();
    const { setBudget } = await cp.ok(SET_BUDGET, { input: { subject, period: "DAILY", cap: "-5.00" } });
    expect(setBudget).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "cap" }] });
    const malformed = await cp.gql(SET_BUDGET, { input: { subject, period: "DAILY", cap: "$20.00" } });
    // The Usd scalar rejects it during variable coercion, before any resolver runs.
    expect(malformed.status).toBe(400);
    expect(malformed.errors?.[0]?.message).toContain('Usd: "$20.00" is not a decimal amount');
    expect(malformed.data?.setBudget).toBeUndefined();
    expect(await counts()).toEqual(before);
    expect((await cp.prisma.budget.findFirstOrThrow({ where: { userId: user.id } })).capMicros).toBe(20_000_000n);
  });

  it("clears one period's budget, keeps the others and audits it; clearing again reports nothing cleared", async () => {
    const { user } = await setup();
    const subject = { userId: user.id };
    await cp.ok(SET_BUDGET, { input: { subject, period: "DAILY", cap: "20.00" } });
    await cp.ok(SET_BUDGET, { input: { subject, period: "TOTAL", cap: "100.00" } });
    expect((await cp.ok(CLEAR_BUDGET, { input: { subject, period: "DAILY" } })).clearBudget).toEqual({ __typename: "ClearResult", cleared: true });
    expect((await cp.ok(CLEAR_BUDGET, { input: { subject, period: "DAILY" } })).clearBudget).toEqual({ __typename: "ClearResult", cleared: false });
    const left = await cp.prisma.budget.findMany({ where: { userId: user.id } });
    expect(left.map((b) => b.period)).toEqual(["TOTAL"]);

    const audit = await auditFor(user.id);
    expect(audit.map((a) => a.action)).toEqual(["budget.set", "budget.set", "budget.clear", "budget.clear"]);
    expect(audit[2]!.before).toEqual({ period: "DAILY", cap: "20.00" });
    expect(audit[3]!.before).toBeNull();
  });

  it("refuses a bad subject with VALIDATION and an unknown one with NOT_FOUND, changing nothing", async () => {
    const { user, account } = await setup();
    const before = await counts();
    const two = (await cp.ok(SET_BUDGET, { input: { subject: { userId: user.id, virtualAccountId: account.id }, period: "DAILY", cap: "1" } })).setBudget;
    expect(two).toMatchObject({ __typename: "ValidationError", issues: [{ path: "subject" }] });
    const unknown = (await cp.ok(SET_BUDGET, { input: { subject: { virtualAccountId: MISSING }, period: "DAILY", cap: "1" } })).setBudget;
    expect(unknown).toMatchObject({ __typename: "NotFoundError", entity: "VirtualAccount", missingId: MISSING });
    const unknownClear = (await cp.ok(CLEAR_BUDGET, { input: { subject: { groupId: MISSING }, period: "DAILY" } })).clearBudget;
    expect(unknownClear).toMatchObject({ __typename: "NotFoundError", entity: "Group" });
    expect(await counts()).toEqual(before);
  });
});
