// Starts a real control plane on a random port over a fresh Postgres database (and Redis when asked).
import { randomBytes } from "node:crypto";
import { type CredentialCipher, createCredentialCipher } from "../../shared/credential-cipher.ts";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { type ChangeBus, createChangeBus } from "../../control-plane/events/pubsub.ts";
import { createControlPlaneServer } from "../../control-plane/server.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "./database.ts";

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface TestControlPlane {
  url: string;
  prisma: Db;
  database: TestDatabase;
  bus: ChangeBus;
  cipher: CredentialCipher;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Counts the SQL statements Prisma sends while `run` runs. */
  countQueries(run: () => Promise<unknown>): Promise<number>;
  /** Like gql, but fails the test on GraphQL errors and returns `data`. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

export async function startTestControlPlane(options: { redis?: boolean; database?: TestDatabase } = {}): Promise<TestControlPlane> {
  const database = options.database ?? (await createTestDatabase());
  const statements: string[] = [];
  const prisma = createDb(database.url, 4, { onQuery: (sql) => statements.push(sql) });
  // A channel per test run keeps parallel test files from seeing each other's events.
  const bus = createChangeBus(options.redis ? redisUrl : undefined, `tollgate-test:${randomBytes(6).toString("hex")}`);
  const cipher = createCredentialCipher(randomBytes(32));
  const controlPlane = createControlPlaneServer({ prisma, bus, cipher });
  const url = await controlPlane.listen(0, "127.0.0.1");

  const gql = async <T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, "status">) };
  };

  return {
    url,
    prisma,
    database,
    bus,
    cipher,
    gql,
    async countQueries(run) {
      const before = statements.length;
      await run();
      return statements.length - before;
    },
    async ok<T>(query: string, variables?: Record<string, unknown>) {
      const result = await gql<T>(query, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
    },
    async close() {
      await controlPlane.close();
      await bus.close();
      await prisma.$disconnect();
      if (!options.database) await database.drop();
    },
  };
}
