// Creates the Prisma client over @prisma/adapter-pg: the same driver path for embedded and production Postgres.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { type Prisma, PrismaClient } from "./generated/prisma/client.ts";
import { type PoolRows, poolRows } from "./pool-rows.ts";

/**
 * The Prisma client, plus the pg pool it runs on: for the one hot write that bypasses Prisma (usage batches), and
 * `$rows` for the hot list-page reads (pool-rows.ts).
 */
export type Db = InstanceType<typeof PrismaClient> & { readonly $pool: pg.Pool; readonly $rows: PoolRows };
/** The client inside `$transaction(async (tx) => …)`. */
export type Tx = Prisma.TransactionClient;

export interface DbOptions {
  /** Sees every SQL statement and how long Prisma reports it took (tests count them to prove there is no N+1). Off by default: it costs. */
  onQuery?: (sql: string, durationMs: number) => void;
  /** Client-side limit per query (DATABASE_QUERY_TIMEOUT_MS); none by default. */
  queryTimeoutMs?: number;
}

export function createDb(connectionString: string, poolSize: number, options: DbOptions = {}): Db {
  // Bounded connect time and TCP keep-alive, so a database that vanishes fails requests instead of hanging them.
  // A query past queryTimeoutMs fails and its connection is discarded, so a hung database cannot hold callers forever.
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000, keepAlive: true, query_timeout: options.queryTimeoutMs });
  // An idle connection that dies (database restarted) is dropped by the pool and the next query opens another; without a
  // listener its 'error' event would crash the process. Prisma adds its own only once it connects.
  pool.on("error", () => undefined);
  // One pool for both, so embedded mode's single PGlite connection is shared rather than contended; $disconnect ends it.
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const { onQuery } = options;
  const client = onQuery ? new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] }) : new PrismaClient({ adapter });
  if (onQuery) (client as PrismaClient<"query">).$on("query", (event) => onQuery(event.query, Number(event.duration)));
  return Object.assign(client, { $pool: pool, $rows: poolRows(pool, onQuery) }) as unknown as Db;
}
