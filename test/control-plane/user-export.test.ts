import { randomBytes } from "node:crypto";
import ExcelJS from "exceljs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueApiKey } from "../../control-plane/keys/issue-api-key.ts";
import { EXPORT_PAGE_SIZE } from "../../control-plane/users/user-export-rows.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
let origin: string;
beforeAll(async () => {
  cp = await startTestControlPlane();
  origin = new URL(cp.url).origin;
});
afterAll(async () => {
  await cp?.close();
});

const tag = () => randomBytes(3).toString("hex");
const download = (path: string, secret: string | null = cp.ownerKey) =>
  fetch(`${origin}${path}`, { headers: secret ? { authorization: `Bearer ${secret}` } : {} });

/** Two matching users (one with a group, a key and provider access through it) and one that the search leaves out. */
async function seed() {
  const t = tag();
  const loginAt = new Date("2025-03-04T05:06:07Z");
  const ada = await cp.prisma.user.create({ data: { email: `ada-${t}@export.test`, name: `=Ada ${t}`, role: "ADMIN", lastLoginAt: loginAt } });
  const bob = await cp.prisma.user.create({ data: { email: `bob-${t}@export.test`, name: `Bob ${t}`, status: "INVITED" } });
  await cp.prisma.user.create({ data: { email: `carol-${t}@elsewhere.test`, name: "Carol" } });
  const provider = await cp.prisma.provider.create({ data: { name: `Prov ${t}`, kind: "openai", baseUrl: "https://api.example.test/v1" } });
  const group = await cp.prisma.group.create({ data: { name: `Team ${t}`, members: { create: [{ userId: ada.id }] } } });
  await cp.prisma.providerAccess.create({ data: { providerId: provider.id, groupId: group.id } });
  await cp.prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: ada.id }, name: "k", scopes: ["inference"] }));
  return { t, ada, bob, loginAt, search: `-${t}@EXPORT` };
}

describe("user export", () => {
  it("exports the users matching the search as a JSON attachment, ordered by email, and audits it", async () => {
    const { t, ada, bob, loginAt, search } = await seed();
    const response = await download(`/export/users.json?search=${encodeURIComponent(search)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="tollgate-users-.+\.json"$/);
    const body = await response.json();
    expect(body.search).toBe(search);
    expect(Number.isNaN(Date.parse(body.exportedAt))).toBe(false);
    expect(body.users).toEqual([
      {
        name: `=Ada ${t}`,
        email: ada.email,
        role: "ADMIN",
        status: "ACTIVE",
        groups: [`Team ${t}`],
        keyCount: 1,
        allowedProviders: [`Prov ${t}`],
        lastLoginAt: loginAt.toISOString(),
      },
      { name: `Bob ${t}`, email: bob.email, role: "MEMBER", status: "INVITED", groups: [], keyCount: 0, allowedProviders: [], lastLoginAt: null },
    ]);
    const audit = await cp.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.export" }, orderBy: { id: "desc" } });
    expect(audit).toMatchObject({ actorLabel: "owner@tollgate.test", targetType: "User", after: { format: "json", search, count: 2 } });
  });

  it("exports the same rows as an XLSX workbook with a Users sheet and a header row", async () => {
    const { t, ada, bob, loginAt, search } = await seed();
    const response = await download(`/export/users.xlsx?search=${encodeURIComponent(search)}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(response.headers.get("content-disposition")).toMatch(/\.xlsx"$/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await response.arrayBuffer());
    const sheet = workbook.getWorksheet("Users")!;
    expect(sheet).toBeDefined();
    const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1);
    expect(values(1)).toEqual(["Name", "Email", "Role", "Status", "Groups", "Keys", "Allowed providers", "Last login (UTC)"]);
    expect(sheet.rowCount).toBe(3);
    // A leading "=" stays text: exported names are never turned into formulas.
    expect(values(2)).toEqual([`=Ada ${t}`, ada.email, "ADMIN", "ACTIVE", `Team ${t}`, 1, `Prov ${t}`, loginAt]);
    expect(values(3).slice(0, 6)).toEqual([`Bob ${t}`, bob.email, "MEMBER", "INVITED", "", 0]);
    const audit = await cp.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.export" }, orderBy: { id: "desc" } });
    expect(audit.after).toEqual({ format: "xlsx", search, count: 2 });
  });

  it(`exports every user, past pages of ${EXPORT_PAGE_SIZE}, without one query per user`, async () => {
    const t = tag();
    const count = EXPORT_PAGE_SIZE + 20;
    await cp.prisma.user.createMany({
      data: Array.from({ length: count }, (_, i) => ({ email: `bulk-${String(i).padStart(4, "0")}-${t}@export.test`, name: `Bulk ${i}` })),
    });
    let body: any;
    const queries = await cp.countQueries(async () => {
      body = await (await download(`/export/users.json?search=${t}`)).json();
    });
    expect(body.users).toHaveLength(count);
    expect(body.users.map((u: any) => u.email)).toEqual([...body.users.map((u: any) => u.email)].sort());
    expect(queries).toBeLessThan(30);
  });

  it("answers 401 without a key or with a bad one, 403 for a member, and writes no audit event", async () => {
    const audits = await cp.prisma.auditEvent.count({ where: { action: "user.export" } });
    for (const path of ["/export/users.json", "/export/users.xlsx"]) {
      const anonymous = await download(path, null);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: "unauthenticated" });
      const bad = await download(path, "tg_not_a_real_key");
      expect(bad.status).toBe(401);
      expect(await bad.json()).toMatchObject({ error: "unauthenticated" });
      const member = await cp.userWithKey("MEMBER");
      const forbidden = await download(path, member.secret);
      expect(forbidden.status).toBe(403);
      expect(await forbidden.json()).toMatchObject({ error: "forbidden" });
    }
    expect(await cp.prisma.auditEvent.count({ where: { action: "user.export" } })).toBe(audits);
  });

  it("lets an ADMIN export", async () => {
    const admin = await cp.userWithKey("ADMIN");
    const response = await download(`/export/users.json?search=${encodeURIComponent(admin.email)}`, admin.secret);
    expect(response.status).toBe(200);
    expect((await response.json()).users.map((u: any) => u.email)).toEqual([admin.email]);
  });
});
