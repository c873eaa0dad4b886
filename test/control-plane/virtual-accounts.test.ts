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
  ... on VirtualAccount { id name description status }
  ... on Error { code message }
  ... on ValidationError { issues { path message } }
  ... on ConflictError { field }
  ... on NotFoundError { entity id }`;
const CREATE = `mutation ($input: CreateVirtualAccountInput!) { createVirtualAccount(input: $input) { ${RESULT} } }`;
const UPDATE = `mutation ($input: UpdateVirtualAccountInput!) { updateVirtualAccount(input: $input) { ${RESULT} } }`;
const DISABLE = `mutation ($id: ID!) { disableVirtualAccount(id: $id) { ${RESULT} } }`;
const ENABLE = `mutation ($id: ID!) { enableVirtualAccount(id: $id) { ${RESULT} } }`;
const missing = "00000000-0000-4000-8000-000000000000";

async function createAccount(input: Record<string, unknown>) {
  const { createVirtualAccount: account } = await cp.ok(CREATE, { input });
  expect(account.__typename).toBe("VirtualAccount");
  return account;
}

const auditActions = async (targetId: string) =>
  (await cp.prisma.auditEvent.findMany({ where: { targetId }, orderBy: { id: "asc" } })).map((a) => a.action);

describe("virtual accounts", () => {
  it("creates an active virtual account with a name and optional description and audits it", async () => {
    const account = await createAccount({ name: " ci-pipeline ", description: "Nightly evals" });
    expect(account).toMatchObject({ name: "ci-pipeline", description: "Nightly evals", status: "ACTIVE" });
    const [audit] = await cp.prisma.auditEvent.findMany({ where: { targetId: account.id } });
    expect(audit).toMatchObject({ action: "virtualAccount.create", targetType: "VirtualAccount" });
    expect(audit!.after).toEqual({ name: "ci-pipeline", description: "Nightly evals" });
    expect((await createAccount({ name: "no-description" })).description).toBeNull();
  });

  it("refuses a duplicate name with CONFLICT on name and creates nothing", async () => {
    await createAccount({ name: "support-bot" });
    const accounts = await cp.prisma.virtualAccount.count();
    const audits = await cp.prisma.auditEvent.count();
    const { createVirtualAccount: result } = await cp.ok(CREATE, { input: { name: "support-bot" } });
    expect(result).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "name" });
    expect(result.message).toContain("support-bot");
    expect(await cp.prisma.virtualAccount.count()).toBe(accounts);
    expect(await cp.prisma.auditEvent.count()).toBe(audits);
  });

  it("refuses an empty or over-long name with VALIDATION and creates nothing", async () => {
    const accounts = await cp.prisma.virtualAccount.count();
    for (const name of ["  ", "x".repeat(101)]) {
      const { createVirtualAccount: result } = await cp.ok(CREATE, { input: { name } });
      expect(result).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "name" }] });
    }
    expect(await cp.prisma.virtualAccount.count()).toBe(accounts);
  });

  it("updates only the given fields, clears a description with null, and audits before and after", async () => {
    const account = await createAccount({ name: "batch-jobs", description: "Old" });
    const { updateVirtualAccount: renamed } = await cp.ok(UPDATE, { input: { id: account.id, name: "batch-runner" } });
    expect(renamed).toMatchObject({ name: "batch-runner", description: "Old" });
    const { updateVirtualAccount: cleared } = await cp.ok(UPDATE, { input: { id: account.id, description: null } });
    expect(cleared).toMatchObject({ name: "batch-runner", description: null });
    const audits = await cp.prisma.auditEvent.findMany({ where: { targetId: account.id, action: "virtualAccount.update" }, orderBy: { id: "asc" } });
    expect(audits.map((a) => [a.before, a.after])).toEqual([
      [{ name: "batch-jobs", description: "Old" }, { name: "batch-runner" }],
      [{ name: "batch-runner", description: "Old" }, { description: null }],
    ]);
  });

  it("refuses renaming onto another account's name with CONFLICT and keeps the name", async () => {
    await createAccount({ name: "taken-name" });
    const account = await createAccount({ name: "wants-rename" });
    const { updateVirtualAccount: result } = await cp.ok(UPDATE, { input: { id: account.id, name: "taken-name" } });
    expect(result).toMatchObject({ __typename: "ConflictError", field: "name" });
    expect((await cp.prisma.virtualAccount.findUniqueOrThrow({ where: { id: account.id } })).name).toBe("wants-rename");
    expect(await auditActions(account.id)).toEqual(["virtualAccount.create"]);
  });

  it("answers NOT_FOUND for an unknown account and VALIDATION for a malformed id, changing nothing", async () => {
    const audits = await cp.prisma.auditEvent.count();
    const { updateVirtualAccount: unknown } = await cp.ok(UPDATE, { input: { id: missing, name: "ghost" } });
    expect(unknown).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "VirtualAccount", id: missing });
    expect((await cp.ok(DISABLE, { id: missing })).disableVirtualAccount.__typename).toBe("NotFoundError");
    expect((await cp.ok(ENABLE, { id: "42" })).enableVirtualAccount).toMatchObject({ __typename: "ValidationError", issues: [{ path: "id" }] });
    expect(await cp.prisma.auditEvent.count()).toBe(audits);
  });

  it("disables and re-enables an account, each change audited with before and after", async () => {
    const account = await createAccount({ name: "toggle-app" });
    expect((await cp.ok(DISABLE, { id: account.id })).disableVirtualAccount.status).toBe("DISABLED");
    expect((await cp.ok(DISABLE, { id: account.id })).disableVirtualAccount.status).toBe("DISABLED");
    expect((await cp.ok(ENABLE, { id: account.id })).enableVirtualAccount.status).toBe("ACTIVE");
    expect(await auditActions(account.id)).toEqual([
      "virtualAccount.create",
      "virtualAccount.disable",
      "virtualAccount.disable",
      "virtualAccount.enable",
    ]);
    const enable = await cp.prisma.auditEvent.findFirstOrThrow({ where: { targetId: account.id, action: "virtualAccount.enable" } });
    expect([enable.before, enable.after]).toEqual([{ status: "DISABLED" }, { status: "ACTIVE" }]);
  });

  it("publishes a VIRTUAL_ACCOUNT change event after a committed change", async () => {
    const events = cp.bus.subscribe()[Symbol.asyncIterator]();
    const next = events.next();
    const account = await createAccount({ name: "event-app" });
    expect((await next).value).toMatchObject({ kind: "VIRTUAL_ACCOUNT", action: "virtualAccount.create", targetId: account.id });
    await events.return?.();
  });

  it("lists accounts by name with search on name or description, cursor pagination and totalCount", async () => {
    await createAccount({ name: "list-c", description: "Widget service" });
    await createAccount({ name: "list-widget-a" });
    await createAccount({ name: "list-b", description: "Uses WIDGETS" });
    await createAccount({ name: "list-unrelated" });
    const page1 = await cp.ok(`{ virtualAccounts(search: "widget", first: 2) { totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }`);
    expect(page1.virtualAccounts.totalCount).toBe(3);
    expect(page1.virtualAccounts.edges.map((e: any) => e.node.name)).toEqual(["list-b", "list-c"]);
    const page2 = await cp.ok(
      `query ($after: String) { virtualAccounts(search: "Widget", first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage } } }`,
      { after: page1.virtualAccounts.pageInfo.endCursor },
    );
    expect(page2.virtualAccounts.edges.map((e: any) => e.node.name)).toEqual(["list-widget-a"]);
    expect(page2.virtualAccounts.pageInfo.hasNextPage).toBe(false);
  });

  it("shows one account by id, and null for an unknown or malformed id", async () => {
    const account = await createAccount({ name: "detail-app", description: "Detail" });
    const QUERY = `query ($id: ID!) { virtualAccount(id: $id) { id name description status } }`;
    expect((await cp.ok(QUERY, { id: account.id })).virtualAccount).toEqual({
      id: account.id,
      name: "detail-app",
      description: "Detail",
      status: "ACTIVE",
    });
    expect((await cp.ok(QUERY, { id: missing })).virtualAccount).toBeNull();
    expect((await cp.ok(QUERY, { id: "nope" })).virtualAccount).toBeNull();
  });
});
