// Reads on the pool under Prisma (db/pool-rows.ts) must see rows as Prisma does, whatever the process's time zone,
// and must show up in statement counts like Prisma's own statements.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

describe("pool rows", () => {
  let database: TestDatabase;
  let prisma: Db;
  const statements: string[] = [];
  const zone = process.env.TZ;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createDb(database.url, 2, { onQuery: (sql) => statements.push(sql) });
  });
  afterEach(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it("reads timestamps as the UTC instants Prisma wrote, in a process far from UTC", async () => {
    // Node applies a changed TZ at once; pg's own parser would read these zone-less columns as Los Angeles time.
    process.env.TZ = "America/Los_Angeles";
    const loggedIn = new Date("2026-03-08T10:30:00.123Z");
    const user = await prisma.user.create({ data: { email: "tz@example.test", name: "Zone", role: "ADMIN", lastLoginAt: loggedIn } });
    const [row] = await prisma.$rows<{ id: string; role: string; lastLoginAt: Date; lastSeenAt: Date | null; createdAt: Date }>(
      `SELECT "id", "role"::text AS "role", "lastLoginAt", "lastSeenAt", "createdAt" FROM "User" WHERE "id" = $1`,
      [user.id],
    );
    expect(row!.lastLoginAt).toBeInstanceOf(Date);
    expect(row!.lastLoginAt.toISOString()).toBe(loggedIn.toISOString());
    expect(row!.createdAt.toISOString()).toBe(user.createdAt.toISOString());
    expect(row!.lastSeenAt).toBeNull();
    expect(row!).toMatchObject({ id: user.id, role: "ADMIN" });
  });

  it("passes array parameters, reads text arrays as arrays, and is counted like Prisma's statements", async () => {
    const users = await Promise.all(["a", "b", "c"].map((name) => prisma.user.create({ data: { email: `${name}@example.test`, name } })));
    await prisma.apiKey.create({ data: { name: "k", prefix: "tg_x", hash: "h-1", scopes: ["admin", "inference"], userId: users[0]!.id } });
    const from = statements.length;
    const rows = await prisma.$rows<{ email: string }>(`SELECT "email" FROM "User" WHERE "id" = ANY($1::uuid[]) ORDER BY "email"`, [users.map((u) => u.id)]);
    const [key] = await prisma.$rows<{ scopes: string[] }>(`SELECT "scopes" FROM "ApiKey" WHERE "hash" = $1`, ["h-1"]);
    expect(rows.map((r) => r.email)).toEqual(["a@example.test", "b@example.test", "c@example.test"]);
    expect(key!.scopes).toEqual(["admin", "inference"]);
    expect(statements.slice(from)).toHaveLength(2);
    expect(statements.at(-1)).toContain(`FROM "ApiKey"`);
  });
});
