// Prints the SQL that creates schema.prisma from an empty database (or the diff between two schemas),
// using Prisma 6.19's WASM schema engine, since Prisma 7's CLI needs a binary we cannot download.
// Usage: tsx prisma/tools/schema-sql.ts [OLD_SCHEMA] > migration.sql
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Prisma 6 needs a datasource url and cannot load the Prisma 7 / Pothos generators. */
function legacySchema(source: string): string {
  return source
    .replace(/generator \w+ \{[^}]*\}/g, "")
    .replace(/datasource db \{[^}]*\}/, 'datasource db {\n  provider = "postgresql"\n  url      = env("DIFF_DATABASE_URL")\n}');
}

export function schemaSql(oldSchemaPath?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-schema-sql-"));
  try {
    const next = join(dir, "next.prisma");
    writeFileSync(next, legacySchema(readFileSync(join(root, "prisma/schema.prisma"), "utf8")));
    const from = oldSchemaPath
      ? (() => {
          const old = join(dir, "old.prisma");
          writeFileSync(old, legacySchema(readFileSync(oldSchemaPath, "utf8")));
          return ["--from-schema-datamodel", old];
        })()
      : ["--from-empty"];
    const placeholder = join(root, "prisma/schema-engine-placeholder");
    return execFileSync(
      process.execPath,
      [
        join(root, "node_modules/prisma6/build/index.js"),
        "migrate", "diff", ...from, "--to-schema-datamodel", next, "--script",
        "--config", join(root, "test/support/prisma-diff.config.ts"),
      ],
      {
        cwd: root,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          ...process.env,
          DIFF_DATABASE_URL: process.env.DIFF_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres",
          PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
          PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
        },
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(schemaSql(process.argv[2]));
}
