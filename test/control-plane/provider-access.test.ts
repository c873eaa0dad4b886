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

const ACCESS_FIELDS = `id level provider { id name } user { id email } group { id name } virtualAccount { id name }`;
const SET = `mutation ($input: SetProviderAccessInput!) { setProviderAccess(input: $input) { ${RESULT(`... on ProviderAccess { ${ACCESS_FIELDS} }`)} } }`;
const REMOVE = `mutation ($id: ID!) { removeProviderAccess(id: $id) { ${RESULT(`... on ProviderAccess { ${ACCESS_FIELDS} }`)} } }`;
const MISSING = "00000000-0000-4000-8000-000000000000";

let seq = 0;
async function setup() {
  const n = ++seq;
  const provider = await cp.prisma.provider.create({ data: { name: `Provider ${n}`, kind: "openai", baseUrl: "https://api.openai.com/v1" } });
  const user = await cp.prisma.user.create({ data: { email: `user${n}@access.test`, name: `User ${n}` } });
  const group = await cp.prisma.group.create({ data: { name: `Group ${n}` } });
  const account = await cp.prisma.virtualAccount.create({ data: { name: `app-${n}` } });
  return { provider, user, group, account };
}

async function counts() {
  return { access: await cp.prisma.providerAccess.count(), audit: await cp.prisma.auditEvent.count() };
}

describe("provider access", () => {
  it("gives a user, a group and a virtual account USER access by default and shows it on each and on the provider", async () => {
    const { provider, user, group, account } = await setup();
    const toUser = (await cp.ok(SET, { input: { providerId: provider.id, subject: { userId: user.id } } })).setProviderAccess;
    const toGroup = (await cp.ok(SET, { input: { providerId: provider.id, subject: { groupId: group.id }, level: "MANAGER" } })).setProviderAccess;
    const toAccount = (await cp.ok(SET, { input: { providerId: provider.id, subject: { virtualAccountId: account.id } } })).setProviderAccess;

    expect(toUser).toMatchObject({ __typename: "ProviderAccess", level: "USER", provider: { name: provider.name }, user: { email: user.email }, group: null });
    expect(toGroup).toMatchObject({ level: "MANAGER", group: { name: group.name }, user: null, virtualAccount: null });
    expect(toAccount).toMatchObject({ level: "USER", virtualAccount: { name: account.name }, user: null, group: null });

    const read = await cp.ok(
      `query ($g: ID!, $p: ID!) {
        group(id: $g) { providerAccess { id level provider { name } } }
        provider(id: $p) { access { id level } }
      }`,
      { g: group.id, p: provider.id },
    );
    expect(read.group.providerAccess).toEqual([{ id: toGroup.id, level: "MANAGER", provider: { name: provider.name } }]);
    expect(read.provider.access).toEqual([
      { id: toUser.id, level: "USER" },
      { id: toGroup.id, level: "MANAGER" },
      { id: toAccount.id, level: "USER" },
    ]);

    // No top-level user or virtual account query yet: read them through the access rows.
    const subjects = await cp.ok(
      `mutation ($u: SetProviderAccessInput!, $a: SetProviderAccessInput!) {
        u: setProviderAccess(input: $u) { ... on ProviderAccess { user { providerAccess { id level } } } }
        a: setProviderAccess(input: $a) { ... on ProviderAccess { virtualAccount { providerAccess { id level } } } }
      }`,
      { u: { providerId: provider.id, subject: { userId: user.id } }, a: { providerId: provider.id, subject: { virtualAccountId: account.id } } },
    );
    expect(subjects.u.user.providerAccess).toEqual([{ id: toUser.id, level: "USER" }]);
    expect(subjects.a.virtualAccount.providerAccess).toEqual([{ id: toAccount.id, level: "USER" }]);
  });

  it("setting access again changes the level of the same row and audits old and new level", async () => {
    const { provider, user } = await setup();
    const subject = { userId: user.id };
    const first = (await cp.ok(SET, { input: { providerId: provider.id, subject } })).setProviderAccess;
    const second = (await cp.ok(SET, { input: { providerId: provider.id, subject, level: "MANAGER" } })).setProviderAccess;
    expect(second).toMatchObject({ id: first.id, level: "MANAGER" });
    expect(await cp.prisma.providerAccess.count({ where: { providerId: provider.id } })).toBe(1);

    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: first.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["providerAccess.set", "providerAccess.set"]);
    expect(audit[0]!.before).toBeNull();
    expect(audit[0]!.after).toMatchObject({ providerId: provider.id, level: "USER", subject: { type: "User", id: user.id } });
    expect(audit[1]!.before).toMatchObject({ level: "USER" });
    expect(audit[1]!.after).toMatchObject({ level: "MANAGER" });
  });

  it("removes access, returns the removed row and audits it", async () => {
    const { provider, group } = await setup();
    const access = (await cp.ok(SET, { input: { providerId: provider.id, subject: { groupId: group.id } } })).setProviderAccess;
    const removed = (await cp.ok(REMOVE, { id: access.id })).removeProviderAccess;
    expect(removed).toMatchObject({ __typename: "ProviderAccess", id: access.id, group: { name: group.name } });
    expect(await cp.prisma.providerAccess.count({ where: { id: access.id } })).toBe(0);
    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: access.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => a.action)).toEqual(["providerAccess.set", "providerAccess.remove"]);
    expect(audit[1]!.before).toMatchObject({ providerId: provider.id, level: "USER", subject: { type: "Group", id: group.id, name: group.name } });
  });

  it("removing unknown access answers NOT_FOUND", async () => {
    const before = await counts();
    const { removeProviderAccess } = await cp.ok(REMOVE, { id: MISSING });
    expect(removeProviderAccess).toMatchObject({ __typename: "NotFoundError", entity: "ProviderAccess", missingId: MISSING });
    expect(await counts()).toEqual(before);
  });

  it("refuses a subject with two ids or none with VALIDATION and changes nothing", async () => {
    const { provider, user, account } = await setup();
    const before = await counts();
    for (const subject of [{ userId: user.id, virtualAccountId: account.id }, {}]) {
      const { setProviderAccess } = await cp.ok(SET, { input: { providerId: provider.id, subject } });
      expect(setProviderAccess).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "subject" }] });
    }
    expect(await counts()).toEqual(before);
  });

  it("answers NOT_FOUND for an unknown provider or subject and gives no access", async () => {
    const { provider, user } = await setup();
    const before = await counts();
    const cases = [
      [{ providerId: MISSING, subject: { userId: user.id } }, "Provider"],
      [{ providerId: provider.id, subject: { userId: MISSING } }, "User"],
      [{ providerId: provider.id, subject: { groupId: MISSING } }, "Group"],
      [{ providerId: provider.id, subject: { virtualAccountId: MISSING } }, "VirtualAccount"],
    ] as const;
    for (const [input, entity] of cases) {
      const { setProviderAccess } = await cp.ok(SET, { input });
      expect(setProviderAccess).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity, missingId: MISSING });
    }
    expect(await counts()).toEqual(before);
  });
});
