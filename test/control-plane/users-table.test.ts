import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessLevel } from "../../control-plane/db/generated/prisma/client.ts";
import { issueApiKey } from "../../control-plane/keys/issue-api-key.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const tag = () => randomBytes(3).toString("hex");
const user = (email: string) => cp.prisma.user.create({ data: { email, name: email.split("@")[0]! } });
const provider = (name: string) => cp.prisma.provider.create({ data: { name, kind: "openai", baseUrl: "https://api.example.test/v1" } });
const group = (name: string, userIds: string[]) =>
  cp.prisma.group.create({ data: { name, members: { create: userIds.map((userId) => ({ userId })) } } });
const access = (providerId: string, owner: { userId: string } | { groupId: string }, level: AccessLevel = "USER") =>
  cp.prisma.providerAccess.create({ data: { providerId, level, ...owner } });

const TABLE = /* GraphQL */ `
  query ($search: String, $first: Int = 25, $after: String) {
    users(search: $search, first: $first, after: $after) {
      edges { node { email keyCount groups { name } grants { model { slug } } allowedProviders { provider { name } level via } } }
      pageInfo { endCursor }
    }
  }`;

async function row(email: string) {
  const { users } = await cp.ok(TABLE, { search: email });
  expect(users.edges).toHaveLength(1);
  return users.edges[0].node;
}

describe("users table", () => {
  it("counts a user's keys that are not revoked", async () => {
    const u = await user(`keys-${tag()}@table.test`);
    const keys = await cp.prisma.$transaction(async (tx) =>
      Promise.all(["a", "b", "c"].map((name) => issueApiKey(tx, { owner: { userId: u.id }, name, scopes: ["inference"] }))),
    );
    await cp.prisma.apiKey.update({ where: { id: keys[0]!.key.id }, data: { revokedAt: new Date() } });
    expect((await row(u.email)).keyCount).toBe(2);
  });

  it("lists allowed providers once each, with the strongest level and every path (direct and groups)", async () => {
    const t = tag();
    const u = await user(`providers-${t}@table.test`);
    const [alpha, beta, unrelated] = await Promise.all([provider(`Alpha ${t}`), provider(`Beta ${t}`), provider(`Gamma ${t}`)]);
    const [ops, eng] = await Promise.all([group(`Ops ${t}`, [u.id]), group(`Eng ${t}`, [u.id])]);
    await access(alpha.id, { userId: u.id });
    await access(alpha.id, { groupId: eng.id });
    await access(beta.id, { groupId: ops.id });
    await access(beta.id, { groupId: eng.id }, "MANAGER");
    const other = await user(`other-${t}@table.test`);
    await access(unrelated.id, { userId: other.id }, "MANAGER");
    expect((await row(u.email)).allowedProviders).toEqual([
      { provider: { name: `Alpha ${t}` }, level: "USER", via: ["direct", `Eng ${t}`] },
      { provider: { name: `Beta ${t}` }, level: "MANAGER", via: [`Eng ${t}`, `Ops ${t}`] },
    ]);
    expect((await row(other.email)).allowedProviders).toEqual([{ provider: { name: `Gamma ${t}` }, level: "MANAGER", via: ["direct"] }]);
  });

  it("shows a provider, group and model through the page exactly as their own queries do (rows read past Prisma)", async () => {
    const t = tag();
    const u = await user(`fields-${t}@table.test`);
    const p = await cp.prisma.provider.create({
      data: { name: `Fields ${t}`, kind: "openai", baseUrl: "https://api.example.test/v1", settings: { apiVersion: "2024-06-01" }, credentialsCiphertext: Buffer.from("x") },
    });
    const g = await group(`Fields ${t}`, [u.id]);
    await access(p.id, { groupId: g.id });
    const m = await cp.prisma.model.create({ data: { slug: `fields-${t}`, displayName: `Fields ${t}` } });
    await cp.prisma.modelGrant.create({ data: { modelId: m.id, userId: u.id } });
    const providerFields = "id name kind baseUrl status hasCredentials credentialsLast4 settings createdAt updatedAt";
    const modelFields = "id slug displayName kind createdAt updatedAt";
    const groupFields = "id name description createdAt updatedAt";
    const { users } = await cp.ok(
      `query ($search: String) { users(search: $search, first: 5) { edges { node {
        groups { ${groupFields} } grants { id createdAt model { ${modelFields} } } allowedProviders { provider { ${providerFields} } } } } } }`,
      { search: u.email },
    );
    const page = users.edges[0].node;
    const own = await cp.ok(`query ($p: ID!, $g: ID!, $m: ID!) { provider(id: $p) { ${providerFields} } group(id: $g) { ${groupFields} } model(id: $m) { ${modelFields} } }`, {
      p: p.id,
      g: g.id,
      m: m.id,
    });
    expect(page.allowedProviders).toEqual([{ provider: own.provider }]);
    expect(page.allowedProviders[0].provider).toMatchObject({ hasCredentials: true, settings: { apiVersion: "2024-06-01" }, createdAt: p.createdAt.toISOString() });
    expect(page.groups).toEqual([own.group]);
    expect(page.grants).toHaveLength(1);
    expect(page.grants[0].model).toEqual(own.model);
    expect(page.grants[0].model.createdAt).toBe(m.createdAt.toISOString());
  });

  it("shows no allowed providers for a user with none", async () => {
    const u = await user(`none-${tag()}@table.test`);
    expect((await row(u.email)).allowedProviders).toEqual([]);
  });

  it("loads the users list with allowed providers in the same number of queries however many users it shows", async () => {
    const t = tag();
    const p = await provider(`Counted ${t}`);
    const seed = async (prefix: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const u = await user(`${prefix}-${i}-${t}@table.test`);
        const g = await group(`${prefix} ${i} ${t}`, [u.id]);
        await access(p.id, { userId: u.id });
        await access(p.id, { groupId: g.id }, "MANAGER");
      }
    };
    await seed("few", 2);
    await seed("many", 12);
    // Grants on some pages only: a page without any still asks for their models.
    const counted = await cp.prisma.model.create({ data: { slug: `counted-${t}`, displayName: "Counted" } });
    for (const u of await cp.prisma.user.findMany({ where: { email: { startsWith: "many-" } } })) {
      await cp.prisma.modelGrant.create({ data: { modelId: counted.id, userId: u.id } });
    }
    // Users with keys but no group and no provider access: a page of different content, not fewer statements.
    for (let i = 0; i < 3; i++) {
      const u = await user(`bare-${i}-${t}@table.test`);
      await cp.prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: u.id }, name: "k", scopes: ["inference"] }));
    }
    const few = await cp.countQueries(() => cp.ok(TABLE, { search: `few-` }));
    const many = await cp.countQueries(() => cp.ok(TABLE, { search: `many-` }));
    const bare = await cp.countQueries(() => cp.ok(TABLE, { search: `bare-` }));
    // A page after a cursor too: Prisma joins relations on a first page but not under a cursor, unless told one way.
    const { users: firstPage } = await cp.ok(TABLE, { search: `many-`, first: 5 });
    const later = await cp.countQueries(() => cp.ok(TABLE, { search: `many-`, first: 5, after: firstPage.pageInfo.endCursor }));
    expect(many).toBe(few);
    expect(bare).toBe(few);
    expect(later).toBe(few);
    const { users } = await cp.ok(TABLE, { search: `many-` });
    expect(users.edges).toHaveLength(12);
    expect(users.edges[0].node.allowedProviders).toEqual([
      { provider: { name: `Counted ${t}` }, level: "MANAGER", via: ["direct", `many 0 ${t}`] },
    ]);
  });
});

describe("groups and grants of the users on a page", () => {
  // The page's own selection is read with plain statements; one reaching further goes through Prisma's planned load.
  // Both must give the same rows in the same order, field for field.
  const PLAIN = /* GraphQL */ `
    query ($search: String) {
      users(search: $search, first: 50) { edges { node { email
        groups { id name description createdAt updatedAt }
        grants { id createdAt model { id slug displayName kind createdAt updatedAt } } } } }
    }`;
  const PLANNED = /* GraphQL */ `
    query ($search: String) {
      users(search: $search, first: 50) { edges { node { email
        groups { id name description createdAt updatedAt members { email } }
        grants { id createdAt user { email } model { id slug displayName kind createdAt updatedAt routes { id } } } } } }
    }`;
  const GRANT_IDS = `query ($search: String) { users(search: $search, first: 50) { edges { node { email grants { id createdAt } } } } }`;

  it("are the same rows, in name and slug order, whether read plainly or through Prisma's planned load", async () => {
    const t = tag();
    const [ann, bob, cyd] = await Promise.all(["ann", "bob", "cyd"].map((n) => user(`${n}-${t}@loaders.test`)));
    const [zeta, alpha] = [await group(`Zeta ${t}`, [ann!.id, bob!.id]), await group(`Alpha ${t}`, [ann!.id])];
    await cp.prisma.group.update({ where: { id: alpha.id }, data: { description: "first by name" } });
    const models = await Promise.all(["b", "a", "c"].map((s) => cp.prisma.model.create({ data: { slug: `${s}-${t}`, displayName: s.toUpperCase(), kind: s === "c" ? "EMBEDDING" : "CHAT" } })));
    for (const m of models) await cp.prisma.modelGrant.create({ data: { modelId: m.id, userId: ann!.id } });
    await cp.prisma.modelGrant.create({ data: { modelId: models[2]!.id, userId: bob!.id } });
    // A group's grant is not the user's own.
    await cp.prisma.modelGrant.create({ data: { modelId: models[0]!.id, groupId: zeta.id } });

    const plain = (await cp.ok(PLAIN, { search: t })).users.edges.map((e: any) => e.node);
    const planned = (await cp.ok(PLANNED, { search: t })).users.edges.map((e: any) => e.node);
    expect(plain.map((u: any) => u.email)).toEqual([ann, bob, cyd].map((u) => u!.email));
    const [a, b, c] = plain;
    expect(a.groups.map((g: any) => g.name)).toEqual([`Alpha ${t}`, `Zeta ${t}`]);
    expect(a.groups[0]).toEqual({ id: alpha.id, name: `Alpha ${t}`, description: "first by name", createdAt: alpha.createdAt.toISOString(), updatedAt: expect.any(String) });
    expect(a.grants.map((g: any) => g.model.slug)).toEqual([`a-${t}`, `b-${t}`, `c-${t}`]);
    expect(a.grants[2].model).toMatchObject({ id: models[2]!.id, displayName: "C", kind: "EMBEDDING", createdAt: models[2]!.createdAt.toISOString() });
    expect(b.groups.map((g: any) => g.name)).toEqual([`Zeta ${t}`]);
    expect(b.grants.map((g: any) => g.model.slug)).toEqual([`c-${t}`]);
    expect(c).toEqual({ email: cyd!.email, groups: [], grants: [] });

    const without = (node: any, ...fields: string[]) => JSON.parse(JSON.stringify(node, (key, value) => (fields.includes(key) ? undefined : value)));
    expect(planned.map((u: any) => without(u, "members", "user", "routes"))).toEqual(plain);
    expect(planned[0].grants[0].user).toEqual({ email: ann!.email });
    expect(planned[0].groups[1].members.map((m: any) => m.email).sort()).toEqual([ann!.email, bob!.email]);
    // Grants without their models: the same grants, and no model read.
    const bare = (await cp.ok(GRANT_IDS, { search: t })).users.edges.map((e: any) => e.node.grants);
    expect(bare).toEqual(plain.map((u: any) => u.grants.map(({ id, createdAt }: any) => ({ id, createdAt }))));
  });
});

describe("users summary", () => {
  it("counts the users matching the search and those without any grant or provider access", async () => {
    const t = tag();
    const search = `summary-${t}`;
    const [granted, direct, viaGroupGrant, viaGroupAccess, emptyGroup, nothing] = await Promise.all(
      ["granted", "direct", "groupgrant", "groupaccess", "emptygroup", "nothing"].map((n) => user(`${n}.${search}@table.test`)),
    );
    const model = await cp.prisma.model.create({ data: { slug: `chat-${t}`, displayName: `Chat ${t}` } });
    const p = await provider(`Summary ${t}`);
    await cp.prisma.modelGrant.create({ data: { modelId: model.id, userId: granted!.id } });
    await access(p.id, { userId: direct!.id });
    const withGrant = await group(`Granted ${t}`, [viaGroupGrant!.id]);
    await cp.prisma.modelGrant.create({ data: { modelId: model.id, groupId: withGrant.id } });
    const withAccess = await group(`Accessing ${t}`, [viaGroupAccess!.id]);
    await access(p.id, { groupId: withAccess.id });
    await group(`Empty ${t}`, [emptyGroup!.id]);
    void nothing;

    const { usersSummary } = await cp.ok(`query ($s: String) { usersSummary(search: $s) { total withoutAssignment } }`, { s: search.toUpperCase() });
    expect(usersSummary).toEqual({ total: 6, withoutAssignment: 2 });
    const narrow = await cp.ok(`query ($s: String) { usersSummary(search: $s) { total withoutAssignment } }`, { s: `granted.${search}` });
    expect(narrow.usersSummary).toEqual({ total: 1, withoutAssignment: 0 });
  });

  it("counts everyone without a search, the owner included", async () => {
    const { usersSummary } = await cp.ok(`{ usersSummary { total withoutAssignment } }`);
    expect(usersSummary.total).toBe(await cp.prisma.user.count());
  });

  it("is for administrators only", async () => {
    const member = await cp.userWithKey("MEMBER");
    const result = await cp.as(member.secret).gql(`{ usersSummary { total } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});
