// The whole product for end-to-end tests: a real control plane (GraphQL) and one or more real data-plane instances
// (startDataPlane, as `npm start` wires them) sharing Postgres and Redis, and the mock provider upstream.
import { randomBytes } from "node:crypto";
import { createDb } from "../../control-plane/db/client.ts";
import { createChangeBus } from "../../control-plane/events/pubsub.ts";
import { type DataPlane, startDataPlane } from "../../data-plane/runtime/start-data-plane.ts";
import { loadConfig } from "../../shared/config.ts";
import { startTestControlPlane, type TestControlPlane } from "./control-plane.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "./database.ts";
import { type MockProvider, startMockProvider } from "./mock-provider.ts";
import { assertNoLeaks, captureLog, type LogCapture } from "./secret-scan.ts";

/** What the mock provider demands of the gateway (one of the credentials the secrets scan knows). */
export const STACK_PROVIDER_CREDENTIAL = "sk-upstream";

export interface TestStack {
  cp: TestControlPlane;
  mock: MockProvider;
  /** Base URLs of the data-plane instances, e.g. http://127.0.0.1:PORT. */
  gateways: string[];
  /** The database, reached directly (cp.database.url goes through `postgresPort` when one was given). */
  database: TestDatabase;
  /** Prefixes the data planes' admission counters in Redis (see counterKey in data-plane/admission/redis-admission.ts). */
  redisKeyPrefix: string;
  /** What each data-plane instance logged; scanned for secrets (with the control plane's log and database) at close. */
  dataPlaneLogs: LogCapture[];
  /** Shuts data-plane instance i down as the process does on SIGTERM (1 s of grace), the rest staying up. */
  closeInstance(i: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestStackOptions {
  instances?: number;
  redis?: boolean;
  /** Settings of every data-plane instance, as environment variables. */
  env?: Record<string, string>;
  /** Settings of the control plane, as environment variables. */
  controlPlaneEnv?: Record<string, string>;
  /** Settings of instance i on top of `env`. */
  instanceEnv?: Record<string, string>[];
  /** The Redis the data planes use, for admission and the change bus (e.g. a tcp-proxy's); the control plane keeps the real one. */
  dataPlaneRedisUrl?: string;
  /** Both planes reach Postgres on this port (e.g. a tcp-proxy's); the database itself is created and dropped directly. */
  postgresPort?: number;
}

/**
 * `instances` data planes, each with its own Postgres pool and its own change-bus connection, as separate processes
 * would have. With Redis (the default) they share rate-limit and budget counters.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const redis = options.redis ?? true;
  const planeRedisUrl = options.dataPlaneRedisUrl ?? redisUrl;
  const channel = `tollgate-test:${randomBytes(6).toString("hex")}`;
  const database = await createTestDatabase();
  const reached = options.postgresPort === undefined ? database : { ...database, url: withPort(database.url, options.postgresPort) };
  const cp = await startTestControlPlane({ redis, channel, database: reached, env: options.controlPlaneEnv });
  const mock = await startMockProvider({ requireCredential: STACK_PROVIDER_CREDENTIAL });
  const keyPrefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  const planes: { plane: DataPlane; close: () => Promise<void> }[] = [];
  const dataPlaneLogs: LogCapture[] = [];
  for (let i = 0; i < (options.instances ?? 1); i++) {
    const config = loadConfig({
      DATABASE_URL: cp.database.url,
      ...(redis ? { REDIS_URL: planeRedisUrl } : {}),
      DATA_PLANE_PORT: "0",
      SNAPSHOT_RECONCILE_MS: "1000",
      // A loaded CI machine can delay Redis replies past the production default; tests assert decisions, not timeouts.
      REDIS_TIMEOUT_MS: "2000",
      ...options.env,
      ...options.instanceEnv?.[i],
    });
    const prisma = createDb(cp.database.url, 4, { queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS });
    const bus = createChangeBus(redis ? planeRedisUrl : undefined, channel);
    // Without Redis there is no shared bus: an in-process instance must hear the control plane's own bus.
    const logs = captureLog(`data-plane ${i} log`);
    dataPlaneLogs.push(logs);
    const plane = await startDataPlane({ config, prisma, bus: redis ? bus : cp.bus, cipher: cp.cipher, log: logs.log, redisKeyPrefix: keyPrefix });
    let closed: Promise<void> | null = null;
    planes.push({
      plane,
      close: () =>
        (closed ??= (async () => {
          await plane.close(1_000);
          await bus.close();
          await prisma.$disconnect();
        })()),
    });
  }
  return {
    cp,
    mock,
    gateways: planes.map((p) => `http://127.0.0.1:${p.plane.port}`),
    database,
    redisKeyPrefix: keyPrefix,
    dataPlaneLogs,
    closeInstance: (i) => planes[i]!.close(),
    async close() {
      for (const p of planes) await p.close();
      await mock.close();
      await cp.close();
      await database.drop();
      assertNoLeaks(dataPlaneLogs.flatMap((logs) => logs.leaks()));
    },
  };
}

function withPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.port = String(port);
  return parsed.toString();
}

let seq = 0;
const unique = (prefix: string) => `${prefix}-${++seq}-${randomBytes(3).toString("hex")}`;

/** Through the GraphQL API: an OpenAI-kind provider on the mock, a provider model priced $1/M in, $2/M out, a model routed to it. */
export async function createMockModel(stack: TestStack, upstreamModel = "gpt-mock"): Promise<{ modelId: string; slug: string; providerId: string }> {
  const { cp, mock } = stack;
  const { createProvider: provider } = await cp.ok(
    `mutation ($input: CreateProviderInput!) { createProvider(input: $input) { ... on Provider { id } ... on Error { code message } } }`,
    { input: { name: unique("mock"), kind: "openai", baseUrl: `${mock.url}/v1`, credentials: STACK_PROVIDER_CREDENTIAL } },
  );
  const { addProviderModel: pm } = await cp.ok(
    `mutation ($input: AddProviderModelInput!) { addProviderModel(input: $input) { ... on ProviderModel { id } ... on Error { code message } } }`,
    { input: { providerId: provider.id, upstreamName: upstreamModel, inputPricePerMTok: "1.00", outputPricePerMTok: "2.00" } },
  );
  const slug = unique("chat");
  const { createModel: model } = await cp.ok(
    `mutation ($input: CreateModelInput!) { createModel(input: $input) { ... on Model { id } ... on Error { code message } } }`,
    { input: { slug, displayName: "Chat" } },
  );
  await cp.ok(`mutation ($input: AddModelRouteInput!) { addModelRoute(input: $input) { ... on Model { id } } }`, {
    input: { modelId: model.id, providerModelId: pm.id },
  });
  return { modelId: model.id, slug, providerId: provider.id };
}

/** A member with an inference key, created through the API. */
export async function memberWithInferenceKey(stack: TestStack): Promise<{ userId: string; secret: string; keyId: string }> {
  const { cp } = stack;
  const { createUser: user } = await cp.ok(`mutation ($input: CreateUserInput!) { createUser(input: $input) { ... on User { id } } }`, {
    input: { email: `${unique("member")}@stack.test`, name: "Member" },
  });
  const { createApiKey } = await cp.ok(
    `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on CreatedApiKey { secret apiKey { id } } ... on Error { code message } } }`,
    { input: { name: "sdk", userId: user.id, scopes: ["INFERENCE"] } },
  );
  return { userId: user.id, secret: createApiKey.secret, keyId: createApiKey.apiKey.id };
}

/** Waits until `check` passes (policy propagation is asynchronous), failing after `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 3_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Waits until every data-plane instance serves the policy version the database has now (all changes so far). */
export async function waitForPolicy(stack: TestStack, ms = 5_000): Promise<void> {
  const row = await stack.cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
  await eventually(async () => {
    for (const gateway of stack.gateways) {
      const ready = (await (await fetch(`${gateway}/readyz`)).json()) as { snapshotVersion: string };
      if (BigInt(ready.snapshotVersion) < row.version) throw new Error(`${gateway} is at ${ready.snapshotVersion}, not ${row.version}`);
    }
  }, ms);
}
