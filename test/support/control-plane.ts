// Starts a real control plane on a random port over a fresh Postgres database (and Redis when asked),
// bootstrapped with an owner whose key the default client sends.
import { randomBytes } from "node:crypto";
import { bootstrapOwner } from "../../control-plane/auth/bootstrap-owner.ts";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import type { OrgRole } from "../../control-plane/db/generated/prisma/client.ts";
import { type ChangeBus, createChangeBus } from "../../control-plane/events/pubsub.ts";
import { issueApiKey, type KeyScope } from "../../control-plane/keys/issue-api-key.ts";
import { createControlPlaneServer } from "../../control-plane/server.ts";
import { type CredentialCipher, createCredentialCipher } from "../../shared/credential-cipher.ts";
import { loadConfig } from "../../shared/config.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "./database.ts";
import { assertNoLeaks, captureLog, type LogCapture, recordingCipher } from "./secret-scan.ts";

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export interface GraphQLClient {
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Like gql, but fails the test on GraphQL errors and returns `data`. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

export interface TestControlPlane extends GraphQLClient {
  url: string;
  prisma: Db;
  database: TestDatabase;
  bus: ChangeBus;
  cipher: CredentialCipher;
  /** The bootstrapped owner's key; the default client sends it. */
  ownerKey: string;
  /** A client sending this key (or none). */
  as(secret: string | null): GraphQLClient;
  /** A new active user of the given role with a key (scopes default to admin + inference). */
  userWithKey(role: OrgRole, options?: { scopes?: KeyScope[]; email?: string }): Promise<{ id: string; email: string; secret: string }>;
  /** What the control plane logged; scanned for secrets when it closes. */
  logs: LogCapture;
  /** Counts the SQL statements Prisma sends while `run` runs. */
  countQueries(run: () => Promise<unknown>): Promise<number>;
  close(): Promise<void>;
}

export interface TestControlPlaneOptions {
  redis?: boolean;
  database?: TestDatabase;
  /** Extra settings, as environment variables (the database is always the test's). */
  env?: Record<string, string>;
  /** The change-bus channel; data planes of the same test subscribe to it. */
  channel?: string;
}

export async function startTestControlPlane(options: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const database = options.database ?? (await createTestDatabase());
  const statements: string[] = [];
  // Best-effort "last used" stamps after authentication are not part of what a query costs.
  const stamp = /^UPDATE .*"last(Used|Login)At"/;
  const config = loadConfig({ DATABASE_URL: database.url, GRAPHIQL: "true", GRAPHQL_INTROSPECTION: "true", ...options.env });
  const prisma = createDb(database.url, 4, { onQuery: (sql) => stamp.test(sql) || statements.push(sql), queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS });
  // A channel per test run keeps parallel test files from seeing each other's events.
  const bus = createChangeBus(options.redis ? redisUrl : undefined, options.channel ?? `tollgate-test:${randomBytes(6).toString("hex")}`);
  // Every credential set through the API becomes something the secrets scan looks for.
  const cipher = recordingCipher(createCredentialCipher(randomBytes(32)));
  const owner = await bootstrapOwner(prisma, "owner@tollgate.test");
  if (!owner) throw new Error("test database already had users");
  // Echoed like yoga's console logger did before, so a failing test still shows the masked errors' originals.
  const logs = captureLog("control-plane log", true);
  const controlPlane = createControlPlaneServer({ prisma, bus, cipher, config, log: logs.log });
  const url = await controlPlane.listen(0, "127.0.0.1");

  const as = (secret: string | null): GraphQLClient => {
    const gql = async <T>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> => {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(secret ? { authorization: `Bearer ${secret}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, "status">) };
    };
    return {
      gql,
      async ok<T>(query: string, variables?: Record<string, unknown>) {
        const result = await gql<T>(query, variables);
        if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
        return result.data as T;
      },
    };
  };

  let users = 0;
  return {
    url,
    prisma,
    database,
    bus,
    cipher,
    ownerKey: owner.secret,
    logs,
    as,
    ...as(owner.secret),
    async userWithKey(role, opts = {}) {
      const email = opts.email ?? `${role.toLowerCase()}-${++users}-${randomBytes(3).toString("hex")}@tollgate.test`;
      const user = await prisma.user.create({ data: { email, name: email.split("@")[0]!, role } });
      const { secret } = await prisma.$transaction((tx) =>
        issueApiKey(tx, { owner: { userId: user.id }, name: "test", scopes: opts.scopes ?? ["admin", "inference"] }),
      );
      return { id: user.id, email, secret };
    },
    async countQueries(run) {
      const before = statements.length;
      await run();
      return statements.length - before;
    },
    async close() {
      await controlPlane.close();
      await bus.close();
      await prisma.$disconnect();
      if (!options.database) await database.drop();
      assertNoLeaks(logs.leaks());
    },
  };
}
