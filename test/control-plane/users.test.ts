import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const RESULT = /* GraphQL */ `
  __typename
  ... on User { id email name role status groupCount }
  ... on Error { code message }
  ... on ValidationError { issues { path message } }
  ... on ConflictError { field }
  ... on NotFoundError { entity id }`;
const CREATE = `mutation ($input: CreateUserInput!) { createUser(input: $input) { ${RESULT} } }`;
const UPDATE = `mutation ($input: UpdateUserInput!) { updateUser(input: $input) { ${RESULT} } }`;
const DISABLE = `mutation ($id: ID!) { disableUser(id: $id) { ${RESULT} } }`;
const ENABLE = `mutation ($id: ID!) { enableUser(id: $id) { ${RESULT} } }`;
const missing = "00000000-0000-4000-8000-000000000000";

async function createUser(input: Record<string, unknown>) {
  const { createUser: user } = await cp.ok(CREATE, { input });
  expect(user.__typename).toBe("User");
  return user;
}

/** The default client's key belongs to the bootstrapped owner; tests that demote every owner give the role back. */
const restoreBootstrapOwner = () => cp.prisma.user.update({ where: { email: "owner@tollgate.test" }, data: { role: "OWNER" } });

const auditActions = async (targetId: string) =>
  (await cp.prisma.auditEvent.findMany({ where: { targetId }, orderBy: { id: "asc" } })).map((a) => a.action);

describe("users", () => {
  it("creates a user with a lowercased email and MEMBER/ACTIVE defaults, and audits it", async () => {
    const user = await createUser({ email: "  Ada@Create.Test ", name: " Ada Lovelace " });
    expect(user).toMatchObject({ email: "ada@create.test", name: "Ada Lovelace", role: "MEMBER", status: "ACTIVE", groupCount: 0 });
    const [audit] = await cp.prisma.auditEvent.findMany({ where: { targetId: user.id } });
    expect(audit).toMatchObject({ action: "user.create", targetType: "User" });
    expect(audit!.after).toEqual({ email: "ada@create.test", name: "Ada Lovelace", role: "MEMBER", status: "ACTIVE" });
  });

  it("creates a user with the given role and status", async () => {
    const user = await createUser({ email: "invited@create.test", name: "Invited", role: "ADMIN", status: "INVITED" });
    expect(user).toMatchObject({ role: "ADMIN", status: "INVITED" });
  });

  it("refuses a duplicate email, whatever its case, with CONFLICT on email and creates nothing", async () => {
    await createUser({ email: "dup@conflict.test", name: "First" });
    const users = await cp.prisma.user.count();
    const audits = await cp.prisma.auditEvent.count();
    const { createUser: result } = await cp.ok(CREATE, { input: { email: "DUP@conflict.test", name: "Second" } });
    expect(result).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "email" });
    expect(result.message).toContain("dup@conflict.test");
    expect(await cp.prisma.user.count()).toBe(users);
    expect(await cp.prisma.auditEvent.count()).toBe(audits);
  });

  it("refuses an invalid email, an empty name or a name over 100 characters with VALIDATION and creates nothing", async () => {
    const users = await cp.prisma.user.count();
    const audits = await cp.prisma.auditEvent.count();
    const cases = [
      [{ email: "not-an-email", name: "Someone" }, "email"],
      [{ email: "empty@validation.test", name: "   " }, "name"],
      [{ email: "long@validation.test", name: "x".repeat(101) }, "name"],
    ] as const;
    for (const [input, path] of cases) {
      const { createUser: result } = await cp.ok(CREATE, { input });
      expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
      expect(result.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    }
    expect(await cp.prisma.user.count()).toBe(users);
    expect(await cp.prisma.auditEvent.count()).toBe(audits);
  });

  it("updates only the given fields and audits before and after", async () => {
    const user = await createUser({ email: "grace@update.test", name: "Grace" });
    const { updateUser: renamed } = await cp.ok(UPDATE, { input: { id: user.id, name: "Grace Hopper" } });
    expect(renamed).toMatchObject({ name: "Grace Hopper", role: "MEMBER", status: "ACTIVE", email: "grace@update.test" });
    const { updateUser: promoted } = await cp.ok(UPDATE, { input: { id: user.id, role: "ADMIN" } });
    expect(promoted).toMatchObject({ name: "Grace Hopper", role: "ADMIN", status: "ACTIVE" });
    const audits = await cp.prisma.auditEvent.findMany({ where: { targetId: user.id, action: "user.update" }, orderBy: { id: "asc" } });
    expect(audits.map((a) => [a.before, a.after])).toEqual([
      [{ name: "Grace", role: "MEMBER", status: "ACTIVE" }, { name: "Grace Hopper" }],
      [{ name: "Grace Hopper", role: "MEMBER", status: "ACTIVE" }, { role: "ADMIN" }],
    ]);
  });

  it("answers NOT_FOUND for an unknown user and VALIDATION for a malformed id, changing nothing", async () => {
    const audits = await cp.prisma.auditEvent.count();
    const { updateUser: unknown } = await cp.ok(UPDATE, { input: { id: missing, name: "Nobody" } });
    expect(unknown).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "User", id: missing });
    const { disableUser } = await cp.ok(DISABLE, { id: missing });
    expect(disableUser.__typename).toBe("NotFoundError");
    const { enableUser } = await cp.ok(ENABLE, { id: "not-a-uuid" });
    expect(enableUser).toMatchObject({ __typename: "ValidationError", issues: [{ path: "id" }] });
    expect(await cp.prisma.auditEvent.count()).toBe(audits);
  });

  it("refuses an empty name on update and keeps the user unchanged", async () => {
    const user = await createUser({ email: "keep@update.test", name: "Keep" });
    const { updateUser: result } = await cp.ok(UPDATE, { input: { id: user.id, name: " ", role: "ADMIN" } });
    expect(result.__typename).toBe("ValidationError");
    expect(await cp.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ name: "Keep", role: "MEMBER" });
    expect(await auditActions(user.id)).toEqual(["user.create"]);
  });

  it("disables and re-enables a user; disabling twice is fine; each change is audited", async () => {
    const user = await createUser({ email: "toggle@status.test", name: "Toggle" });
    expect((await cp.ok(DISABLE, { id: user.id })).disableUser.status).toBe("DISABLED");
    expect((await cp.ok(DISABLE, { id: user.id })).disableUser.status).toBe("DISABLED");
    expect((await cp.ok(ENABLE, { id: user.id })).enableUser.status).toBe("ACTIVE");
    expect(await auditActions(user.id)).toEqual(["user.create", "user.disable", "user.disable", "user.enable"]);
    const disable = await cp.prisma.auditEvent.findFirstOrThrow({ where: { targetId: user.id, action: "user.disable" } });
    expect([disable.before, disable.after]).toEqual([{ status: "ACTIVE" }, { status: "DISABLED" }]);
  });

  it("publishes a USER change event after a committed change", async () => {
    const user = await createUser({ email: "event@status.test", name: "Event" });
    const events = cp.bus.subscribe()[Symbol.asyncIterator]();
    const next = events.next();
    await cp.ok(DISABLE, { id: user.id });
    expect((await next).value).toMatchObject({ kind: "USER", action: "user.disable", targetType: "User", targetId: user.id });
    await events.return?.();
  });

  it("refuses to demote or disable the last active owner, and allows it once another owner exists", async () => {
    // Only an owner may change an owner, so the owners here act with their own keys; every other owner steps down first.
    const owner = await cp.userWithKey("OWNER", { email: "owner@owners.test" });
    const asOwner = cp.as(owner.secret);
    await cp.prisma.user.updateMany({ where: { role: "OWNER", id: { not: owner.id } }, data: { role: "ADMIN" } });
    const audits = await cp.prisma.auditEvent.count();

    for (const [query, variables, field] of [
      [UPDATE, { input: { id: owner.id, role: "ADMIN" } }, "updateUser"],
      [UPDATE, { input: { id: owner.id, status: "INVITED" } }, "updateUser"],
      [DISABLE, { id: owner.id }, "disableUser"],
    ] as const) {
      const result = (await asOwner.ok(query, variables))[field];
      expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION" });
      expect(result.message).toMatch(/last active owner/);
    }
    expect(await cp.prisma.user.findUniqueOrThrow({ where: { id: owner.id } })).toMatchObject({ role: "OWNER", status: "ACTIVE" });
    expect(await cp.prisma.auditEvent.count()).toBe(audits);

    // A disabled owner does not count as a way back in.
    const dormant = await cp.userWithKey("OWNER", { email: "dormant@owners.test" });
    await cp.prisma.user.update({ where: { id: dormant.id }, data: { status: "DISABLED" } });
    expect((await asOwner.ok(DISABLE, { id: owner.id })).disableUser.__typename).toBe("ValidationError");

    expect((await asOwner.ok(ENABLE, { id: dormant.id })).enableUser.status).toBe("ACTIVE");
    expect((await asOwner.ok(UPDATE, { input: { id: owner.id, role: "MEMBER" } })).updateUser.role).toBe("MEMBER");
    expect((await cp.as(dormant.secret).ok(DISABLE, { id: dormant.id })).disableUser.__typename).toBe("ValidationError");
    await cp.prisma.user.update({ where: { id: dormant.id }, data: { role: "ADMIN" } });
    await restoreBootstrapOwner();
  });

  it("lets only one of two concurrent demotions of the last two owners through", async () => {
    // Each owner demotes themself with their own key, so both requests are an owner's whichever commits first.
    const a = await cp.userWithKey("OWNER", { email: "a@race.test" });
    const b = await cp.userWithKey("OWNER", { email: "b@race.test" });
    await cp.prisma.user.updateMany({ where: { role: "OWNER", id: { notIn: [a.id, b.id] } }, data: { role: "ADMIN" } });
    const results = await Promise.all([a, b].map((u) => cp.as(u.secret).ok(UPDATE, { input: { id: u.id, role: "ADMIN" } })));
    expect(results.map((r) => r.updateUser.__typename).sort()).toEqual(["User", "ValidationError"]);
    expect(await cp.prisma.user.count({ where: { role: "OWNER", status: "ACTIVE" } })).toBe(1);
    await cp.prisma.user.updateMany({ where: { role: "OWNER" }, data: { role: "ADMIN" } });
    await restoreBootstrapOwner();
  });

  it("lists users by email with search on name or email, cursor pagination and totalCount", async () => {
    await createUser({ email: "c.zed@list.test", name: "Carol" });
    await createUser({ email: "a.zed@list.test", name: "Alice" });
    await createUser({ email: "b@list.test", name: "Bob Zedson" });
    await createUser({ email: "other@list.test", name: "Other" });
    const page1 = await cp.ok(`{ users(search: "ZED", first: 2) { totalCount edges { node { email } } pageInfo { hasNextPage endCursor } } }`);
    expect(page1.users.totalCount).toBe(3);
    expect(page1.users.edges.map((e: any) => e.node.email)).toEqual(["a.zed@list.test", "b@list.test"]);
    expect(page1.users.pageInfo.hasNextPage).toBe(true);
    const page2 = await cp.ok(`query ($after: String) { users(search: "zed", first: 2, after: $after) { edges { node { email } } pageInfo { hasNextPage } } }`, {
      after: page1.users.pageInfo.endCursor,
    });
    expect(page2.users.edges.map((e: any) => e.node.email)).toEqual(["c.zed@list.test"]);
    expect(page2.users.pageInfo.hasNextPage).toBe(false);
  });

  it("shows one user with their groups by name, and null for an unknown or malformed id", async () => {
    const user = await createUser({ email: "member@detail.test", name: "Member" });
    for (const name of ["Detail Zeta", "Detail Alpha"]) {
      const group = await cp.prisma.group.create({ data: { name } });
      await cp.prisma.groupMembership.create({ data: { groupId: group.id, userId: user.id } });
    }
    const QUERY = `query ($id: ID!) { user(id: $id) { email groupCount groups { name } } }`;
    expect((await cp.ok(QUERY, { id: user.id })).user).toEqual({
      email: "member@detail.test",
      groupCount: 2,
      groups: [{ name: "Detail Alpha" }, { name: "Detail Zeta" }],
    });
    expect((await cp.ok(QUERY, { id: missing })).user).toBeNull();
    expect((await cp.ok(QUERY, { id: "nope" })).user).toBeNull();
  });

  it("loads the user list with groups in a fixed number of queries, however many users", async () => {
    const group = await cp.prisma.group.create({ data: { name: "N+1 Group" } });
    const LIST = `query ($search: String) { users(search: $search, first: 50) { totalCount edges { node { email groupCount groups { name } } } } }`;
    const seed = async (prefix: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const u = await cp.prisma.user.create({ data: { email: `${prefix}${i}@nplus.test`, name: `${prefix} ${i}` } });
        await cp.prisma.groupMembership.create({ data: { groupId: group.id, userId: u.id } });
      }
    };
    await seed("few", 1);
    await seed("many", 8);
    const few = await cp.countQueries(() => cp.ok(LIST, { search: "few" }));
    const many = await cp.countQueries(async () => {
      const data = await cp.ok(LIST, { search: "many" });
      expect(data.users.edges).toHaveLength(8);
      expect(data.users.edges.every((e: any) => e.node.groupCount === 1 && e.node.groups[0].name === "N+1 Group")).toBe(true);
    });
    expect(many).toBe(few);
  });
});
