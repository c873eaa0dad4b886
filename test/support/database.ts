// A fresh, migrated Postgres database per test file on the machine's real server; dropped afterwards.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { applyMigrations } from "../../control-plane/db/migrate.ts";
import { scanDatabase } from "./database-secret-scan.ts";
import { assertNoLeaks, type Leak } from "./secret-scan.ts";

export const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
export const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestDatabase {
  name: string;
  url: string;
  /**
   * Scans every table for plaintext API keys and provider credentials (test/support/secret-scan.ts), drops the
   * database, then fails with SecretLeakError if the scan found any: so every test that uses a database proves that
   * nothing it did stored a secret. `scanSecrets: false` is for tests that plant secrets on purpose.
   */
  drop(options?: { scanSecrets?: boolean }): Promise<void>;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** An empty database; `migrate: false` leaves it without tables. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `tollgate_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(name);
  if (options.migrate !== false) await applyMigrations(url);
  return {
    name,
    url,
    async drop({ scanSecrets = true } = {}) {
      const scan = scanSecrets ? await scanDatabase(url, name).catch((error: unknown) => scanFailure(error, name)) : [];
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      if (scan instanceof Error) throw scan;
      assertNoLeaks(scan);
    },
  };
}

/** A database dropped twice (an explicit drop, then afterAll) has nothing left to scan; any other failure is one. */
function scanFailure(error: unknown, name: string): Leak[] | Error {
  if ((error as { code?: string }).code === "3D000") return [];
  return new Error(`could not scan ${name} for secrets: ${(error as Error).message}`);
}
