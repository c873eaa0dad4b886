// Creates the Prisma client over @prisma/adapter-pg: the same driver path for embedded and production Postgres.
import { PrismaPg } from "@prisma/adapter-pg";
import { type Prisma, PrismaClient } from "./generated/prisma/client.ts";

export type Db = InstanceType<typeof PrismaClient>;
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
  const adapter = new PrismaPg({ connectionString, max: poolSize, connectionTimeoutMillis: 5_000, keepAlive: true, query_timeout: options.queryTimeoutMs });
  const { onQuery } = options;
  if (!onQuery) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  client.$on("query", (event) => onQuery(event.query, Number(event.duration)));
  return client as unknown as Db;
}
