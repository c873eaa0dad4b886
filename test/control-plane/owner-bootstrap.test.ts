// First start creates the owner and one key; the recovery CLI mints another from the server's own configuration.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootstrapOwner } from "../../control-plane/auth/bootstrap-owner.ts";
import { createDb } from "../../control-plane/db/client.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

const run = promisify(execFile);
let database: TestDatabase;
let cp: TestControlPlane;

beforeAll(async () => {
  database = await createTestDatabase();
  cp = await startTestControlPlane({ database });
});
afterAll(async () => {
  await cp?.close();
  await database?.drop();
});

describe("owner bootstrap", () => {
  it("creates exactly one owner with an admin key, and never again once users exist", async () => {
    const owners = await cp.prisma.user.findMany({ where: { role: "OWNER" }, include: { apiKeys: true } });
    expect(owners).toHaveLength(1);
    expect(owners[0]!.apiKeys[0]!.scopes.sort()).toEqual(["admin", "inference"]);
    expect(await bootstrapOwner(cp.prisma, "someone-else@tollgate.test")).toBeNull();
    const audit = await cp.prisma.auditEvent.findMany({ where: { action: "user.bootstrap" } });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify({ ...audit[0], id: String(audit[0]!.id) })).not.toContain(cp.ownerKey);
  });

  it("two replicas starting at once bootstrap one owner", async () => {
    const fresh = await createTestDatabase();
    const a = createDb(fresh.url, 2);
    const b = createDb(fresh.url, 2);
    try {
      const results = await Promise.all([bootstrapOwner(a, "race@tollgate.test"), bootstrapOwner(b, "race@tollgate.test")]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.user.count()).toBe(1);
    } finally {
      await Promise.all([a.$disconnect(), b.$disconnect()]);
      await fresh.drop();
    }
  });

  it("npm run tollgate -- create-admin-key prints a new owner key that works, without changing the old one", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "control-plane/cli.ts", "create-admin-key"], {
      env: { ...process.env, DATABASE_URL: database.url, TOLLGATE_SECRET_KEY: randomBytes(32).toString("base64"), REDIS_URL: "" },
    });
    const key = /^\s+(tg_pat_\S+)$/m.exec(stdout)?.[1];
    expect(key).toBeDefined();
    expect(stdout).toContain("owner@tollgate.test");
    const viaNew = await cp.as(key!).gql(`{ users { totalCount } }`);
    expect(viaNew.status).toBe(200);
    expect(viaNew.data?.users.totalCount).toBeGreaterThan(0);
    expect((await cp.gql(`{ users { totalCount } }`)).status).toBe(200);
  });

  it("the CLI names an unknown command and exits 2", async () => {
    const failure = await run(process.execPath, ["--import", "tsx", "control-plane/cli.ts", "nope"]).catch((e: { code: number; stderr: string }) => e);
    expect((failure as { code: number }).code).toBe(2);
    expect((failure as { stderr: string }).stderr).toContain("create-admin-key");
  });
});
