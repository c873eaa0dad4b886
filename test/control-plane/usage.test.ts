import { randomUUID } from "node:crypto";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Prisma } from "../../control-plane/db/generated/prisma/client.ts";
import { type GraphQLClient, startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const ROW = "day userId userEmail virtualAccountId virtualAccountName modelSlug apiKeyId apiKeyPrefix requests inputTokens outputTokens cachedTokens cost errors";
const USAGE = `query ($filter: UsageFilter, $groupBy: [UsageDimension!]) { usage(filter: $filter, groupBy: $groupBy) { ${ROW} } }`;
const SUMMARY = "period windowStart windowEnd spent cap remaining";
const SPEND = /* GraphQL */ `
  query ($subject: SpendSubjectInput!, $period: BudgetPeriod) {
    spend(subject: $subject, period: $period) {
      __typename
      ... on SpendSummary { ${SUMMARY} }
      ... on Error { code message }
      ... on NotFoundError { entity }
    }
  }`;
const DAY_MS = 86_400_000;

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomUUID().slice(0, 8)}`;

/** A three-day range of its own for each test (days from 2024-01-01), so no test sees another's records. */
function ownDays() {
  const start = Date.UTC(2024, 0, 1) + ++seq * 3 * DAY_MS;
  return { day: (n: number, hours = 12) => new Date(start + n * DAY_MS + hours * 3_600_000), from: new Date(start), iso: (n: number) => new Date(start + n * DAY_MS).toISOString().slice(0, 10) };
}

async function user(email = unique("u")) {
  return cp.prisma.user.create({ data: { email: `${email}@usage.test`, name: email } });
}

async function key(owner: { userId: string } | { virtualAccountId: string }) {
  const prefix = unique("tg_pre");
  return cp.prisma.apiKey.create({ data: { name: prefix, prefix, hash: randomUUID(), scopes: ["inference"], ...owner } });
}

type Usage = Partial<Prisma.UsageRecordCreateManyInput> & { createdAt: Date };
async function records(...rows: Usage[]) {
  await cp.prisma.usageRecord.createMany({
    data: rows.map((r) => ({ requestId: randomUUID(), modelSlug: "chat-default", status: 200, latencyMs: 100, ...r })),
  });
}

async function usage(variables: Record<string, unknown>, client: GraphQLClient = cp) {
  return (await client.ok(USAGE, variables)).usage as Record<string, any>[];
}

const totals = (rows: Record<string, any>[]) =>
  rows.map(({ requests, inputTokens, outputTokens, cachedTokens, cost, errors }) => ({ requests, inputTokens, outputTokens, cachedTokens, cost, errors }));

describe("usage", () => {
  it("groups by UTC day with exact sums; `to` is exclusive", async () => {
    const days = ownDays();
    const u = await user();
    await records(
      { userId: u.id, createdAt: days.day(0, 0), inputTokens: 100, outputTokens: 20, cachedTokens: 10, costMicros: 1_500_000n },
      { userId: u.id, createdAt: new Date(days.day(1, 0).getTime() - 1), inputTokens: 5, outputTokens: 1, costMicros: 250_000n, status: 500 },
      { userId: u.id, createdAt: days.day(1, 0), inputTokens: 7, outputTokens: 3, costMicros: 1n, status: 429 },
      { userId: u.id, createdAt: days.day(2, 0), inputTokens: 1000, costMicros: 9n },
    );
    const rows = await usage({ filter: { userId: u.id, from: days.from, to: days.day(2, 0) } });
    expect(rows.map((r) => r.day)).toEqual([days.iso(0), days.iso(1)]);
    expect(totals(rows)).toEqual([
      { requests: 2, inputTokens: 105, outputTokens: 21, cachedTokens: 10, cost: "1.75", errors: 1 },
      { requests: 1, inputTokens: 7, outputTokens: 3, cachedTokens: 0, cost: "0.000001", errors: 1 },
    ]);
    expect(rows[0]).toMatchObject({ userId: null, modelSlug: null, apiKeyId: null, virtualAccountId: null });
  });

  it("groups by user, model, key and virtual account with labels, in one statement whatever the number of rows", async () => {
    const days = ownDays();
    const [a, b] = [await user(), await user()];
    const account = await cp.prisma.virtualAccount.create({ data: { name: unique("app") } });
    const [ka1, ka2, kb, kv] = [await key({ userId: a.id }), await key({ userId: a.id }), await key({ userId: b.id }), await key({ virtualAccountId: account.id })];
    const [m1, m2] = [unique("m1"), unique("m2")];
    const at = days.day(0);
    await records(
      { userId: a.id, apiKeyId: ka1.id, modelSlug: m1, createdAt: at, inputTokens: 100, outputTokens: 10, cachedTokens: 5, costMicros: 1000n },
      { userId: a.id, apiKeyId: ka1.id, modelSlug: m1, createdAt: at, inputTokens: 50, outputTokens: 5, costMicros: 500n, status: 429 },
      { userId: a.id, apiKeyId: ka2.id, modelSlug: m2, createdAt: at, inputTokens: 1, outputTokens: 1, costMicros: 1n },
      { userId: b.id, apiKeyId: kb.id, modelSlug: m1, createdAt: at, inputTokens: 7, outputTokens: 3, costMicros: 70n },
      { virtualAccountId: account.id, apiKeyId: kv.id, modelSlug: m2, createdAt: at, inputTokens: 9, outputTokens: 9, costMicros: 90n, status: 502 },
    );
    const filter = { from: days.from, to: days.day(1, 0) };

    const byUser = await usage({ filter, groupBy: ["USER"] });
    expect(byUser.map((r) => [r.userId, r.userEmail, r.day])).toEqual([[a.id, a.email, null], [null, null, null], [b.id, b.email, null]]);
    expect(totals(byUser)).toEqual([
      { requests: 3, inputTokens: 151, outputTokens: 16, cachedTokens: 5, cost: "0.001501", errors: 1 },
      { requests: 1, inputTokens: 9, outputTokens: 9, cachedTokens: 0, cost: "0.00009", errors: 1 },
      { requests: 1, inputTokens: 7, outputTokens: 3, cachedTokens: 0, cost: "0.00007", errors: 0 },
    ]);

    const byModel = await usage({ filter, groupBy: ["MODEL"] });
    expect(byModel.map((r) => [r.modelSlug, r.requests, r.cost, r.errors])).toEqual([[m1, 3, "0.00157", 1], [m2, 2, "0.000091", 1]]);

    const byKey = await usage({ filter, groupBy: ["API_KEY"] });
    expect(byKey.map((r) => [r.apiKeyId, r.apiKeyPrefix, r.requests, r.cost])).toEqual([
      [ka1.id, ka1.prefix, 2, "0.0015"],
      [kv.id, kv.prefix, 1, "0.00009"],
      [kb.id, kb.prefix, 1, "0.00007"],
      [ka2.id, ka2.prefix, 1, "0.000001"],
    ]);

    const byAccountAndDay = await usage({ filter, groupBy: ["VIRTUAL_ACCOUNT", "DAY"] });
    expect(byAccountAndDay.map((r) => [r.day, r.virtualAccountId, r.virtualAccountName, r.requests])).toEqual([
      [days.iso(0), null, null, 4],
      [days.iso(0), account.id, account.name, 1],
    ]);

    const all = await usage({ filter, groupBy: [] });
    expect(totals(all)).toEqual([{ requests: 5, inputTokens: 167, outputTokens: 28, cachedTokens: 5, cost: "0.001661", errors: 2 }]);

    // Beyond authenticating the caller: one statement for the report, labels joined in, however many people and keys.
    const statements = await cp.countQueries(() => usage({ filter, groupBy: ["USER", "VIRTUAL_ACCOUNT", "MODEL", "API_KEY", "DAY"] }));
    const authentication = await cp.countQueries(() => cp.ok("{ __typename }"));
    expect(statements - authentication).toBe(1);
  });

  it("filters by group to the group's current members only", async () => {
    const days = ownDays();
    const [a, b, outsider] = [await user(), await user(), await user()];
    const group = await cp.prisma.group.create({ data: { name: unique("team"), members: { create: [{ userId: a.id }, { userId: b.id }] } } });
    await records(
      { userId: a.id, createdAt: days.day(0), costMicros: 10n },
      { userId: b.id, createdAt: days.day(0), costMicros: 20n },
      { userId: b.id, createdAt: days.day(1), costMicros: 30n },
      { userId: outsider.id, createdAt: days.day(0), costMicros: 1_000n },
    );
    const filter = { groupId: group.id, from: days.from, to: days.day(3, 0) };
    const rows = await usage({ filter, groupBy: ["USER"] });
    expect(rows.map((r) => [r.userId, r.requests, r.cost])).toEqual([[b.id, 2, "0.00005"], [a.id, 1, "0.00001"]]);
    const byDay = await usage({ filter });
    expect(byDay.map((r) => [r.day, r.cost])).toEqual([[days.iso(0), "0.00003"], [days.iso(1), "0.00003"]]);
  });

  it("reports cost as an exact decimal", async () => {
    const days = ownDays();
    const u = await user();
    await records({ userId: u.id, createdAt: days.day(0), costMicros: 123n });
    expect((await usage({ filter: { userId: u.id, from: days.from, to: days.day(1, 0) } }))[0]!.cost).toBe("0.000123");
    await records(
      { userId: u.id, createdAt: days.day(1), costMicros: 12_345_678_901n },
      { userId: u.id, createdAt: days.day(1), costMicros: 99n },
    );
    const rows = await usage({ filter: { userId: u.id, from: days.from, to: days.day(2, 0) }, groupBy: [] });
    expect(rows[0]!.cost).toBe("12345.679123");
  });

  it("defaults to the last 30 days", async () => {
    const u = await user();
    const now = Date.now();
    await records(
      { userId: u.id, createdAt: new Date(now - 10 * DAY_MS), costMicros: 1n },
      { userId: u.id, createdAt: new Date(now - 31 * DAY_MS), costMicros: 100n },
    );
    const rows = await usage({ filter: { userId: u.id }, groupBy: [] });
    expect(totals(rows)).toEqual([{ requests: 1, inputTokens: 0, outputTokens: 0, cachedTokens: 0, cost: "0.000001", errors: 0 }]);
  });

  it("refuses a reversed range, a range over 366 days and malformed ids with VALIDATION", async () => {
    const from = new Date("2024-01-01T00:00:00Z");
    const reversed = await cp.gql(USAGE, { filter: { from, to: new Date(from.getTime() - 1) } });
    expect(reversed.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", issues: [{ path: "filter.to", message: "to must not be before from" }] });
    expect(reversed.status).toBe(400);

    const tooLong = await cp.gql(USAGE, { filter: { from, to: new Date(from.getTime() + 366 * DAY_MS + 1) } });
    expect(tooLong.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", issues: [{ path: "filter.from" }] });
    const longestAllowed = await cp.gql(USAGE, { filter: { from, to: new Date(from.getTime() + 366 * DAY_MS) } });
    expect(longestAllowed.errors).toBeUndefined();

    const openEnded = await cp.gql(USAGE, { filter: { from: new Date(Date.now() - 400 * DAY_MS) } });
    expect(openEnded.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", issues: [{ path: "filter.from" }] });

    const badId = await cp.gql(USAGE, { filter: { apiKeyId: "not-a-uuid" } });
    expect(badId.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", issues: [{ path: "filter.apiKeyId" }] });
  });
});

describe("spend", () => {
  const today = () => {
    const start = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    return { start: new Date(start), end: new Date(start + DAY_MS), at: (minutes: number) => new Date(start + minutes * 60_000) };
  };

  it("counts today's UTC window only and caps a user at the strictest of their own and their groups' budgets", async () => {
    const u = await user();
    const group = await cp.prisma.group.create({ data: { name: unique("interns"), members: { create: [{ userId: u.id }] } } });
    await cp.prisma.budget.createMany({
      data: [
        { userId: u.id, period: "DAILY", capMicros: 50_000_000n },
        { groupId: group.id, period: "DAILY", capMicros: 20_000_000n },
        { userId: u.id, period: "MONTHLY", capMicros: 500_000_000n },
      ],
    });
    const window = today();
    await records(
      { userId: u.id, createdAt: new Date(), costMicros: 1_250_000n },
      { userId: u.id, createdAt: window.start, costMicros: 750_123n },
      { userId: u.id, createdAt: new Date(window.start.getTime() - 1), costMicros: 5_000_000n },
    );
    const daily = (await cp.ok(SPEND, { subject: { userId: u.id }, period: "DAILY" })).spend;
    expect(daily).toEqual({
      __typename: "SpendSummary",
      period: "DAILY",
      windowStart: window.start.toISOString(),
      windowEnd: window.end.toISOString(),
      spent: "2.000123",
      cap: "20.00",
      remaining: "17.999877",
    });

    const total = (await cp.ok(SPEND, { subject: { userId: u.id }, period: "TOTAL" })).spend;
    expect(total).toMatchObject({ windowStart: new Date(0).toISOString(), windowEnd: null, spent: "7.000123", cap: null, remaining: null });

    // The group's own cap, against its members' spend (informational: each member is capped separately).
    const other = await user();
    await cp.prisma.groupMembership.create({ data: { groupId: group.id, userId: other.id } });
    await records({ userId: other.id, createdAt: new Date(), costMicros: 19_000_000n });
    const forGroup = (await cp.ok(SPEND, { subject: { groupId: group.id } })).spend;
    expect(forGroup).toMatchObject({ period: "DAILY", spent: "21.000123", cap: "20.00", remaining: "0.00" });
    const groupTotal = (await cp.ok(SPEND, { subject: { groupId: group.id }, period: "TOTAL" })).spend;
    expect(groupTotal).toMatchObject({ windowEnd: null, spent: "26.000123", cap: null });
  });

  it("reports a key's and a virtual account's own spend and budget", async () => {
    const account = await cp.prisma.virtualAccount.create({ data: { name: unique("batch") } });
    const k = await key({ virtualAccountId: account.id });
    await cp.prisma.budget.createMany({
      data: [
        { virtualAccountId: account.id, period: "WEEKLY", capMicros: 100_000_000n },
        { apiKeyId: k.id, period: "WEEKLY", capMicros: 3_000_000n },
      ],
    });
    await records(
      { virtualAccountId: account.id, apiKeyId: k.id, createdAt: new Date(), costMicros: 1_000_000n },
      { virtualAccountId: account.id, createdAt: new Date(), costMicros: 500_000n },
    );
    const forAccount = (await cp.ok(SPEND, { subject: { virtualAccountId: account.id }, period: "WEEKLY" })).spend;
    expect(forAccount).toMatchObject({ spent: "1.50", cap: "100.00", remaining: "98.50" });
    const forKey = (await cp.ok(SPEND, { subject: { apiKeyId: k.id }, period: "WEEKLY" })).spend;
    expect(forKey).toMatchObject({ spent: "1.00", cap: "3.00", remaining: "2.00" });
    expect(new Date(forKey.windowStart).getUTCDay()).toBe(1);
  });

  it("answers NotFoundError for an unknown subject and ValidationError for an ambiguous one", async () => {
    const missing = (await cp.ok(SPEND, { subject: { groupId: randomUUID() } })).spend;
    expect(missing).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "Group" });
    const u = await user();
    const both = (await cp.ok(SPEND, { subject: { userId: u.id, groupId: randomUUID() } })).spend;
    expect(both).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
  });
});

describe("a member", () => {
  it("sees their own usage and spend, and is FORBIDDEN another user's", async () => {
    const days = ownDays();
    const member = await cp.userWithKey("MEMBER");
    const other = await user();
    const group = await cp.prisma.group.create({ data: { name: unique("g"), members: { create: [{ userId: member.id }] } } });
    const [ownKey] = await cp.prisma.apiKey.findMany({ where: { userId: member.id } });
    const otherKey = await key({ userId: other.id });
    await records(
      { userId: member.id, apiKeyId: ownKey!.id, createdAt: days.day(0), costMicros: 42n },
      { userId: other.id, apiKeyId: otherKey.id, createdAt: days.day(0), costMicros: 1_000n },
      { userId: member.id, apiKeyId: ownKey!.id, createdAt: new Date(), costMicros: 7n },
    );
    const client = cp.as(member.secret);
    const range = { from: days.from, to: days.day(1, 0) };

    const own = await usage({ filter: range, groupBy: ["USER"] }, client);
    expect(own.map((r) => [r.userId, r.cost])).toEqual([[member.id, "0.000042"]]);
    const named = await usage({ filter: { ...range, userId: member.id, apiKeyId: otherKey.id } }, client);
    expect(named).toEqual([]);

    for (const filter of [{ userId: other.id }, { groupId: group.id }, { virtualAccountId: randomUUID() }]) {
      const refused = await client.gql(USAGE, { filter });
      expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(filter)).toBe("FORBIDDEN");
    }

    expect((await client.ok(SPEND, { subject: { userId: member.id } })).spend).toMatchObject({ spent: "0.000007" });
    expect((await client.ok(SPEND, { subject: { apiKeyId: ownKey!.id } })).spend).toMatchObject({ spent: "0.000007" });
    for (const subject of [{ userId: other.id }, { apiKeyId: otherKey.id }, { groupId: group.id }]) {
      const refused = await client.gql(SPEND, { subject });
      expect(refused.errors?.[0]?.extensions?.code, JSON.stringify(subject)).toBe("FORBIDDEN");
    }
  });
});

describe("spendChanged", () => {
  const SUBSCRIBE = `subscription ($userId: ID, $virtualAccountId: ID, $intervalSeconds: Int) {
    spendChanged(userId: $userId, virtualAccountId: $virtualAccountId, intervalSeconds: $intervalSeconds) { ${SUMMARY} }
  }`;

  async function subscribe(secret: string, variables: Record<string, unknown>) {
    const client = createClient({
      url: cp.url.replace("http", "ws"),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${secret}` },
    });
    await new Promise<void>((resolve) => client.on("connected", () => resolve()));
    const messages: any[] = [];
    let ended = false;
    const waiters: (() => void)[] = [];
    const notify = () => {
      for (const wake of waiters.splice(0)) wake();
    };
    client.subscribe(
      { query: SUBSCRIBE, variables },
      {
        next: (message) => {
          messages.push(message);
          notify();
        },
        error: (error) => {
          messages.push({ errors: error });
          ended = true;
          notify();
        },
        complete: () => {
          ended = true;
          notify();
        },
      },
    );
    /** Waits until `count` messages arrived or the stream ended (or 5 s passed). */
    const received = async (count: number) => {
      const deadline = Date.now() + 5_000;
      while (messages.length < count && !ended && Date.now() < deadline) {
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 100))]);
      }
      return messages;
    };
    return { messages, received, ended: () => ended, close: () => client.dispose() };
  }

  it("sends the current daily spend at once, a new value only when it changes, and stops polling when disposed", async () => {
    const u = await user();
    await cp.prisma.budget.create({ data: { userId: u.id, period: "DAILY", capMicros: 10_000_000n } });
    const subscription = await subscribe(cp.ownerKey, { userId: u.id, intervalSeconds: 1 });
    const [first] = await subscription.received(1);
    expect(first.data.spendChanged).toMatchObject({ period: "DAILY", spent: "0.00", cap: "10.00", remaining: "10.00" });

    // Two polls with nothing new send nothing.
    await new Promise((r) => setTimeout(r, 2_200));
    expect(subscription.messages).toHaveLength(1);

    await records({ userId: u.id, createdAt: new Date(), costMicros: 2_500_000n });
    const messages = await subscription.received(2);
    expect(messages[1].data.spendChanged).toMatchObject({ spent: "2.50", cap: "10.00", remaining: "7.50" });

    await subscription.close();
    await new Promise((r) => setTimeout(r, 200));
    // No poll (key check or spend query) runs once the client is gone.
    expect(await cp.countQueries(() => new Promise((r) => setTimeout(r, 2_500)))).toBe(0);
    expect(subscription.messages).toHaveLength(2);
  });

  it("lets a member watch their own spend, refuses another user's with FORBIDDEN, and ends once their key is revoked", async () => {
    const member = await cp.userWithKey("MEMBER");
    const other = await user();
    const refused = await subscribe(member.secret, { userId: other.id, intervalSeconds: 1 });
    const [error] = await refused.received(1);
    await refused.close();
    expect(error.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");

    const own = await subscribe(member.secret, { userId: member.id, intervalSeconds: 1 });
    const [first] = await own.received(1);
    expect(first.data.spendChanged).toMatchObject({ spent: "0.00", cap: null });
    await cp.prisma.apiKey.updateMany({ where: { userId: member.id }, data: { revokedAt: new Date() } });
    const messages = await own.received(2);
    await new Promise((r) => setTimeout(r, 200));
    await own.close();
    expect(messages[1]).toMatchObject({ data: null, errors: [{ extensions: { code: "FORBIDDEN" } }] });
    expect(own.ended()).toBe(true);
  });

  it("refuses bad arguments with VALIDATION and an unknown subject with NOT_FOUND when subscribing", async () => {
    const badInterval = await subscribe(cp.ownerKey, { userId: randomUUID(), intervalSeconds: 61 });
    const [tooSlow] = await badInterval.received(1);
    await badInterval.close();
    expect(tooSlow.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION", issues: [{ path: "intervalSeconds" }] });

    const unknown = await subscribe(cp.ownerKey, { virtualAccountId: randomUUID() });
    const [missing] = await unknown.received(1);
    await unknown.close();
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", entity: "VirtualAccount" });
  });
});
