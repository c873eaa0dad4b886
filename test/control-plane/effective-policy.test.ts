import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const POLICY = /* GraphQL */ `
  query ($userId: ID, $virtualAccountId: ID, $slug: String!) {
    effectivePolicy(userId: $userId, virtualAccountId: $virtualAccountId) {
      __typename
      ... on EffectivePolicy {
        principal { kind name }
        active
        groups { name }
        models { slug displayName reasons { kind via { kind name } providerName level description } routes { providerName priority } }
        limits { dimension value source { kind name } }
        budgets { period cap source { kind name } }
        explain(slug: $slug) { allowed explanation }
      }
      ... on Error { code message }
    }
  }`;

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${Date.now()}`;

async function world() {
  const p = cp.prisma;
  const provider = await p.provider.create({ data: { name: unique("openai"), kind: "openai", baseUrl: "https://api.openai.com/v1" } });
  const other = await p.provider.create({ data: { name: unique("anthropic"), kind: "anthropic", baseUrl: "https://api.anthropic.com" } });
  const pm = await p.providerModel.create({ data: { providerId: provider.id, upstreamName: "gpt-4o-mini" } });
  const pmOther = await p.providerModel.create({ data: { providerId: other.id, upstreamName: "claude-haiku" } });
  const fast = await p.model.create({ data: { slug: unique("chat-fast"), displayName: "Chat fast" } });
  const smart = await p.model.create({ data: { slug: unique("chat-smart"), displayName: "Chat smart" } });
  await p.modelRoute.create({ data: { modelId: fast.id, providerModelId: pm.id, priority: 0 } });
  await p.modelRoute.create({ data: { modelId: fast.id, providerModelId: pmOther.id, priority: 1 } });
  await p.modelRoute.create({ data: { modelId: smart.id, providerModelId: pmOther.id } });
  const alice = await p.user.create({ data: { email: `${unique("alice")}@example.com`, name: "Alice" } });
  const engineering = await p.group.create({ data: { name: unique("Engineering") } });
  const interns = await p.group.create({ data: { name: unique("Interns") } });
  await p.groupMembership.createMany({ data: [engineering, interns].map((g) => ({ groupId: g.id, userId: alice.id })) });
  return { provider, other, fast, smart, alice, engineering, interns };
}

describe("effectivePolicy", () => {
  it("a user with no grants and no provider access gets no models, and explain says why", async () => {
    const { alice, fast } = await world();
    const { effectivePolicy } = await cp.ok(POLICY, { userId: alice.id, slug: fast.slug });
    expect(effectivePolicy.models).toEqual([]);
    expect(effectivePolicy.explain.allowed).toBe(false);
    expect(effectivePolicy.explain.explanation).toContain(`${fast.slug} is not granted to ${alice.email}`);
  });

  it("union of a personal grant and group grants, with every reason listed", async () => {
    const { alice, fast, engineering, interns } = await world();
    await cp.prisma.modelGrant.createMany({
      data: [{ modelId: fast.id, userId: alice.id }, { modelId: fast.id, groupId: engineering.id }, { modelId: fast.id, groupId: interns.id }],
    });
    const { effectivePolicy } = await cp.ok(POLICY, { userId: alice.id, slug: fast.slug });
    expect(effectivePolicy.models).toHaveLength(1);
    const [model] = effectivePolicy.models;
    expect(model.reasons.map((r: any) => [r.kind, r.via.kind, r.via.name])).toEqual([
      ["GRANT", "USER", alice.email],
      ["GRANT", "GROUP", engineering.name],
      ["GRANT", "GROUP", interns.name],
    ]);
    // A granted model uses every active route, in priority order.
    expect(model.routes.map((r: any) => r.priority)).toEqual([0, 1]);
    expect(effectivePolicy.explain).toEqual({ allowed: true, explanation: expect.stringContaining(`granted to group "${engineering.name}"`) });
  });

  it("provider access through a group gives every model routed to that provider, on that provider's routes only", async () => {
    const { alice, other, fast, smart, engineering } = await world();
    await cp.prisma.providerAccess.create({ data: { providerId: other.id, groupId: engineering.id, level: "USER" } });
    const { effectivePolicy } = await cp.ok(POLICY, { userId: alice.id, slug: smart.slug });
    const slugs = effectivePolicy.models.map((m: any) => m.slug);
    expect(slugs).toEqual([fast.slug, smart.slug].sort());
    const fastAccess = effectivePolicy.models.find((m: any) => m.slug === fast.slug);
    expect(fastAccess.routes.map((r: any) => r.providerName)).toEqual([other.name]);
    expect(fastAccess.reasons[0]).toMatchObject({ kind: "PROVIDER_ACCESS", providerName: other.name, level: "USER", via: { kind: "GROUP" } });
  });

  it("user 100 req/min + group 60 req/min ⇒ 60 from the group; Engineering $50/day + Interns $20/day ⇒ $20/day from Interns", async () => {
    const { alice, engineering, interns, fast } = await world();
    await cp.prisma.rateLimit.create({ data: { userId: alice.id, requestsPerMinute: 100, tokensPerMinute: 10_000 } });
    await cp.prisma.rateLimit.create({ data: { groupId: engineering.id, requestsPerMinute: 60 } });
    // A burst limit is a dimension of its own: strictest wins across the user and the groups there too.
    await cp.prisma.rateLimit.create({ data: { groupId: interns.id, requestsPerSecond: 5 } });
    await cp.prisma.budget.create({ data: { groupId: engineering.id, period: "DAILY", capMicros: 50_000_000n } });
    await cp.prisma.budget.create({ data: { groupId: interns.id, period: "DAILY", capMicros: 20_000_000n } });
    await cp.prisma.budget.create({ data: { userId: alice.id, period: "MONTHLY", capMicros: 500_000_000n } });
    const { effectivePolicy } = await cp.ok(POLICY, { userId: alice.id, slug: fast.slug });
    expect(effectivePolicy.limits).toEqual([
      { dimension: "REQUESTS_PER_MINUTE", value: 60, source: { kind: "GROUP", name: engineering.name } },
      { dimension: "TOKENS_PER_MINUTE", value: 10_000, source: { kind: "USER", name: alice.email } },
      { dimension: "REQUESTS_PER_SECOND", value: 5, source: { kind: "GROUP", name: interns.name } },
    ]);
    expect(effectivePolicy.budgets).toEqual([
      { period: "DAILY", cap: "20.00", source: { kind: "GROUP", name: interns.name } },
      { period: "MONTHLY", cap: "500.00", source: { kind: "USER", name: alice.email } },
    ]);
  });

  it("a disabled user is reported inactive and explain refuses every model", async () => {
    const { alice, fast } = await world();
    await cp.prisma.modelGrant.create({ data: { modelId: fast.id, userId: alice.id } });
    await cp.prisma.user.update({ where: { id: alice.id }, data: { status: "DISABLED" } });
    const { effectivePolicy } = await cp.ok(POLICY, { userId: alice.id, slug: fast.slug });
    expect(effectivePolicy.active).toBe(false);
    expect(effectivePolicy.explain).toEqual({ allowed: false, explanation: `${alice.email} is disabled, so no model is usable` });
  });

  it("works for a virtual account", async () => {
    const { fast, provider } = await world();
    const account = await cp.prisma.virtualAccount.create({ data: { name: unique("billing-service") } });
    await cp.prisma.providerAccess.create({ data: { providerId: provider.id, virtualAccountId: account.id, level: "MANAGER" } });
    const { effectivePolicy } = await cp.ok(POLICY, { virtualAccountId: account.id, slug: fast.slug });
    expect(effectivePolicy.principal).toEqual({ kind: "VIRTUAL_ACCOUNT", name: account.name });
    expect(effectivePolicy.models.map((m: any) => m.slug)).toEqual([fast.slug]);
    expect(effectivePolicy.models[0].reasons[0].level).toBe("MANAGER");
  });

  it("answers VALIDATION for zero or two principals and NOT_FOUND for an unknown one", async () => {
    const none = await cp.ok(POLICY, { slug: "x" });
    expect(none.effectivePolicy).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
    const unknown = await cp.ok(POLICY, { userId: "00000000-0000-4000-8000-000000000001", slug: "x" });
    expect(unknown.effectivePolicy).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND" });
    const malformed = await cp.ok(POLICY, { userId: "alice", slug: "x" });
    expect(malformed.effectivePolicy.code).toBe("VALIDATION");
  });
});
