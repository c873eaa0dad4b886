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

const GRANT_FIELDS = `id model { id slug } user { id email } group { id name } virtualAccount { id name }`;
const GRANT = `mutation ($input: GrantModelInput!) { grantModel(input: $input) { ${RESULT(`... on ModelGrant { ${GRANT_FIELDS} }`)} } }`;
const REVOKE = `mutation ($id: ID!) { revokeGrant(id: $id) { ${RESULT(`... on ModelGrant { ${GRANT_FIELDS} }`)} } }`;
const MISSING = "00000000-0000-4000-8000-000000000000";

let seq = 0;
async function setup() {
  const n = ++seq;
  const model = await cp.prisma.model.create({ data: { slug: `chat-${n}`, displayName: `Chat ${n}` } });
  const user = await cp.prisma.user.create({ data: { email: `user${n}@grants.test`, name: `User ${n}` } });
  const group = await cp.prisma.group.create({ data: { name: `Group ${n}` } });
  const account = await cp.prisma.virtualAccount.create({ data: { name: `app-${n}` } });
  return { model, user, group, account };
}

async function counts() {
  return { grants: await cp.prisma.modelGrant.count(), audit: await cp.prisma.auditEvent.count() };
}

describe("grants", () => {
  it("grants a model to a user, a group and a virtual account and shows the grants on each and on the model", async () => {
    const { model, user, group, account } = await setup();
    const toUser = (await cp.ok(GRANT, { input: { modelId: model.id, subject: { userId: user.id } } })).grantModel;
    const toGroup = (await cp.ok(GRANT, { input: { modelId: model.id, subject: { groupId: group.id } } })).grantModel;
    const toAccount = (await cp.ok(GRANT, { input: { modelId: model.id, subject: { virtualAccountId: account.id } } })).grantModel;

    expect(toUser).toMatchObject({ __typename: "ModelGrant", model: { slug: model.slug }, user: { email: user.email }, group: null, virtualAccount: null });
    expect(toGroup).toMatchObject({ model: { slug: model.slug }, user: null, group: { name: group.name }, virtualAccount: null });
    expect(toAccount).toMatchObject({ model: { slug: model.slug }, user: null, group: null, virtualAccount: { name: account.name } });

    const read = await cp.ok(
      `query ($g: ID!, $m: ID!) {
        group(id: $g) { grants { id model { slug } } }
        model(id: $m) { grants { id } }
      }`,
      { g: group.id, m: model.id },
    );
    expect(read.group.grants).toEqual([{ id: toGroup.id, model: { slug: model.slug } }]);
    expect(read.model.grants.map((g: { id: string }) => g.id)).toEqual([toUser.id, toGroup.id, toAccount.id]);

    // Users and virtual accounts have no top-level query of their own yet: read them through the grant.
    const again = await cp.ok(
      `mutation ($u: GrantModelInput!, $a: GrantModelInput!) {
        u: grantModel(input: $u) { ... on ModelGrant { user { grants { id } } } }
        a: grantModel(input: $a) { ... on ModelGrant { virtualAccount { grants { id model { slug } } } } }
      }`,
      { u: { modelId: model.id, subject: { userId: user.id } }, a: { modelId: model.id, subject: { virtualAccountId: account.id } } },
    );
    expect(again.u.user.grants).toEqual([{ id: toUser.id }]);
    expect(again.a.virtualAccount.grants).toEqual([{ id: toAccount.id, model: { slug: model.slug } }]);
  });

  it("granting the same model twice returns the existing grant, stores one row and audits once", async () => {
    const { model, user } = await setup();
    const input = { modelId: model.id, subject: { userId: user.id } };
    const first = (await cp.ok(GRANT, { input })).grantModel;
    const second = (await cp.ok(GRANT, { input })).grantModel;
    expect(second.id).toBe(first.id);
    expect(await cp.prisma.modelGrant.count({ where: { modelId: model.id } })).toBe(1);
    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: first.id } });
    expect(audit.map((a) => a.action)).toEqual(["grant.create"]);
  });

  it("revokes a grant and audits both changes with model, slug and subject", async () => {
    const { model, group } = await setup();
    const grant = (await cp.ok(GRANT, { input: { modelId: model.id, subject: { groupId: group.id } } })).grantModel;
    const revoked = (await cp.ok(REVOKE, { id: grant.id })).revokeGrant;
    expect(revoked).toMatchObject({ __typename: "ModelGrant", id: grant.id, model: { slug: model.slug }, group: { name: group.name } });
    expect(await cp.prisma.modelGrant.count({ where: { id: grant.id } })).toBe(0);

    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: grant.id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.targetType])).toEqual([
      ["grant.create", "ModelGrant"],
      ["grant.revoke", "ModelGrant"],
    ]);
    const view = { modelId: model.id, slug: model.slug, subject: { type: "Group", id: group.id, name: group.name } };
    expect(audit[0]!.after).toEqual(view);
    expect(audit[1]!.before).toEqual(view);
  });

  it("revoking an unknown grant answers NOT_FOUND", async () => {
    const before = await counts();
    const { revokeGrant } = await cp.ok(REVOKE, { id: MISSING });
    expect(revokeGrant).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "ModelGrant", missingId: MISSING });
    expect(await counts()).toEqual(before);
  });

  it("refuses a subject with two ids or none with VALIDATION and changes nothing", async () => {
    const { model, user, group } = await setup();
    const before = await counts();
    const two = (await cp.ok(GRANT, { input: { modelId: model.id, subject: { userId: user.id, groupId: group.id } } })).grantModel;
    const none = (await cp.ok(GRANT, { input: { modelId: model.id, subject: {} } })).grantModel;
    const malformed = (await cp.ok(GRANT, { input: { modelId: "nope", subject: { userId: user.id } } })).grantModel;
    for (const result of [two, none]) {
      expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
      expect(result.issues[0].path).toBe("subject");
    }
    expect(malformed).toMatchObject({ __typename: "ValidationError", issues: [{ path: "modelId" }] });
    expect(await counts()).toEqual(before);
  });

  it("answers NOT_FOUND for an unknown model, user, group or virtual account and grants nothing", async () => {
    const { model, user } = await setup();
    const before = await counts();
    const cases = [
      [{ modelId: MISSING, subject: { userId: user.id } }, "Model"],
      [{ modelId: model.id, subject: { userId: MISSING } }, "User"],
      [{ modelId: model.id, subject: { groupId: MISSING } }, "Group"],
      [{ modelId: model.id, subject: { virtualAccountId: MISSING } }, "VirtualAccount"],
    ] as const;
    for (const [input, entity] of cases) {
      const { grantModel } = await cp.ok(GRANT, { input });
      expect(grantModel).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity, missingId: MISSING });
    }
    expect(await counts()).toEqual(before);
  });

  it("loads the grants of every listed group in a constant number of queries", async () => {
    const query = `query ($s: String) { groups(search: $s) { edges { node { grants { model { slug } } } } } }`;
    const one = await setup();
    await cp.ok(GRANT, { input: { modelId: one.model.id, subject: { groupId: one.group.id } } });
    const single = await cp.countQueries(() => cp.ok(query, { s: one.group.name }));
    for (let i = 0; i < 3; i++) {
      const more = await setup();
      await cp.ok(GRANT, { input: { modelId: more.model.id, subject: { groupId: more.group.id } } });
    }
    const all = await cp.countQueries(() => cp.ok(query, { s: "Group" }));
    expect(all).toBe(single);
  });
});
