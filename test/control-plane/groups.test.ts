import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const CREATE = /* GraphQL */ `
  mutation ($input: CreateGroupInput!) {
    createGroup(input: $input) {
      __typename
      ... on Group { id name description memberCount }
      ... on Error { code message }
      ... on ValidationError { issues { path message } }
      ... on ConflictError { field }
    }
  }`;

async function createUser(email: string, name = email.split("@")[0]!) {
  return cp.prisma.user.create({ data: { email, name } });
}

describe("groups", () => {
  it("creates a group with a name and optional description and audits it", async () => {
    const { createGroup } = await cp.ok(CREATE, { input: { name: "Engineering", description: "Builders" } });
    expect(createGroup).toMatchObject({ __typename: "Group", name: "Engineering", description: "Builders", memberCount: 0 });
    const audit = await cp.prisma.auditEvent.findMany({ where: { targetId: createGroup.id } });
    expect(audit.map((a) => a.action)).toEqual(["group.create"]);
  });

  it("refuses a duplicate group name with CONFLICT and creates nothing", async () => {
    await cp.ok(CREATE, { input: { name: "Interns" } });
    const before = await cp.prisma.group.count();
    const { createGroup } = await cp.ok(CREATE, { input: { name: "Interns" } });
    expect(createGroup).toMatchObject({ __typename: "ConflictError", code: "CONFLICT" });
    expect(await cp.prisma.group.count()).toBe(before);
  });

  it("refuses an empty name with VALIDATION", async () => {
    const { createGroup } = await cp.ok(CREATE, { input: { name: "   " } });
    expect(createGroup.__typename).toBe("ValidationError");
    expect(createGroup.issues[0].path).toBe("name");
  });

  it("adds and removes members and counts them", async () => {
    const alice = await createUser("alice@groups.test");
    const bob = await createUser("bob@groups.test");
    const { createGroup: group } = await cp.ok(CREATE, { input: { name: "Platform" } });
    const add = await cp.ok(
      `mutation ($input: GroupMembersInput!) { addGroupMembers(input: $input) { ... on Group { memberCount members { email } } } }`,
      { input: { groupId: group.id, userIds: [alice.id, bob.id] } },
    );
    expect(add.addGroupMembers).toEqual({ memberCount: 2, members: [{ email: "alice@groups.test" }, { email: "bob@groups.test" }] });
    const remove = await cp.ok(
      `mutation ($input: GroupMembersInput!) { removeGroupMembers(input: $input) { ... on Group { memberCount } } }`,
      { input: { groupId: group.id, userIds: [bob.id] } },
    );
    expect(remove.removeGroupMembers.memberCount).toBe(1);
  });

  it("answers NOT_FOUND for an unknown user and adds no one", async () => {
    const alice = await createUser("alice2@groups.test");
    const { createGroup: group } = await cp.ok(CREATE, { input: { name: "Design" } });
    const missing = "00000000-0000-4000-8000-000000000000";
    const result = await cp.ok(
      `mutation ($input: GroupMembersInput!) { addGroupMembers(input: $input) { __typename ... on NotFoundError { entity id code } } }`,
      { input: { groupId: group.id, userIds: [alice.id, missing] } },
    );
    expect(result.addGroupMembers).toEqual({ __typename: "NotFoundError", entity: "User", id: missing, code: "NOT_FOUND" });
    expect(await cp.prisma.groupMembership.count({ where: { groupId: group.id } })).toBe(0);
  });

  it("lists groups with search and cursor pagination", async () => {
    for (const name of ["Search A", "Search B", "Search C"]) await cp.ok(CREATE, { input: { name } });
    const page1 = await cp.ok(`{ groups(search: "search", first: 2) { totalCount edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`);
    expect(page1.groups.totalCount).toBe(3);
    expect(page1.groups.edges.map((e: any) => e.node.name)).toEqual(["Search A", "Search B"]);
    const page2 = await cp.ok(`query ($after: String) { groups(search: "SEARCH", first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage } } }`, {
      after: page1.groups.pageInfo.endCursor,
    });
    expect(page2.groups.edges.map((e: any) => e.node.name)).toEqual(["Search C"]);
    expect(page2.groups.pageInfo.hasNextPage).toBe(false);
  });
});
