// Proves no drift: the migrations applied by our migrator build the same database as schema.prisma does.
import { execFileSync } from "node:child_process";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readMigrations } from "../../control-plane/db/migrate.ts";
import { schemaSql } from "../../prisma/tools/schema-sql.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let migrated: TestDatabase;
let fromSchema: TestDatabase;

beforeAll(async () => {
  [migrated, fromSchema] = await Promise.all([createTestDatabase(), createTestDatabase({ migrate: false })]);
  const client = new pg.Client({ connectionString: fromSchema.url });
  await client.connect();
  await client.query(schemaSql());
  await client.end();
}, 120_000);

afterAll(async () => {
  await Promise.all([migrated?.drop(), fromSchema?.drop()]);
});

/** pg_dump's statements, sorted, without what Prisma cannot express (CHECK constraints) or tracks itself. */
function schemaStatements(url: string): string[] {
  const dump = execFileSync("pg_dump", ["--schema-only", "--no-owner", "--no-privileges", url], { encoding: "utf8" });
  return dump
    .split(/;\n/)
    .map((s) =>
      s
        .split("\n")
        .filter((line) => !/^(--|\\(un)?restrict )/.test(line) && line.trim() !== "" && !/^\s*CONSTRAINT \S+ CHECK /.test(line))
        .map((line) => line.replace(/,$/, ""))
        .join("\n")
        .trim(),
    )
    .filter((s) => s !== "" && !s.startsWith("SET ") && !s.startsWith("SELECT pg_catalog"))
    .filter((s) => !s.includes("_prisma_migrations"))
    .sort();
}

describe("migrations", () => {
  it("build exactly the database schema.prisma describes", () => {
    expect(schemaStatements(migrated.url)).toEqual(schemaStatements(fromSchema.url));
  });

  it("are recorded in _prisma_migrations with Prisma's checksums", async () => {
    const client = new pg.Client({ connectionString: migrated.url });
    await client.connect();
    const { rows } = await client.query(`SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`);
    await client.end();
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(readMigrations().map((m) => [m.name, m.checksum]));
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it("apply once: a second run applies nothing", async () => {
    expect(await applyMigrations(migrated.url)).toEqual([]);
  });
});
