// Wires the process's backing services from configuration: Postgres (embedded or DATABASE_URL), migrations,
// the Prisma client and the change bus (in-process or Redis).
import type { Config } from "../../shared/config.ts";
import { type CredentialCipher, createCredentialCipher } from "../../shared/credential-cipher.ts";
import { createDb, type Db } from "../db/client.ts";
import { startEmbeddedPostgres } from "../db/embedded-postgres.ts";
import { applyMigrations } from "../db/migrate.ts";
import { type ChangeBus, createChangeBus } from "../events/pubsub.ts";
import { loadCredentialKey } from "./credential-key.ts";

export interface Services {
  databaseUrl: string;
  prisma: Db;
  bus: ChangeBus;
  cipher: CredentialCipher;
  stop(): Promise<void>;
}

export async function startServices(config: Config, log: (line: string) => void): Promise<Services> {
  const cipher = createCredentialCipher(loadCredentialKey(config));
  const embedded = config.DATABASE_URL ? null : await startEmbeddedPostgres(config.TOLLGATE_HOME);
  const databaseUrl = config.DATABASE_URL ?? embedded!.url;
  if (embedded) log(`embedded Postgres (PGlite) in ${config.TOLLGATE_HOME}/pgdata`);
  if (config.TOLLGATE_AUTO_MIGRATE) {
    const applied = await applyMigrations(databaseUrl);
    if (applied.length > 0) log(`applied migrations: ${applied.join(", ")}`);
  }
  // PGlite is one connection; its socket server serialises clients, so one pooled connection is honest.
  const prisma = createDb(databaseUrl, embedded ? 1 : config.DATABASE_POOL_SIZE, { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS });
  const bus = createChangeBus(config.REDIS_URL, config.CHANGE_BUS_CHANNEL);
  log(config.REDIS_URL ? "change bus: Redis" : "change bus: in-process");
  return {
    databaseUrl,
    prisma,
    bus,
    cipher,
    async stop() {
      await bus.close();
      await prisma.$disconnect();
      await embedded?.stop();
    },
  };
}
