// `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits.
import { ConfigError, loadConfig } from "../../shared/config.ts";
import { startEmbeddedPostgres } from "./embedded-postgres.ts";
import { applyMigrations } from "./migrate.ts";

try {
  const config = loadConfig();
  const embedded = config.DATABASE_URL ? null : await startEmbeddedPostgres(config.TOLLGATE_HOME);
  try {
    const applied = await applyMigrations(config.DATABASE_URL ?? embedded!.url);
    console.log(applied.length > 0 ? `applied: ${applied.join(", ")}` : "database is up to date");
  } finally {
    await embedded?.stop();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`);
  process.exit(1);
}
