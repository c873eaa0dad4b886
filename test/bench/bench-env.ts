// What every benchmark section shares: one database seeded with the sections' models, the mock provider, the
// gateway (everything on) and the bare passthrough, each in its own process, and the cores they are pinned to.
import { randomBytes } from "node:crypto";
import { createCredentialCipher, type CredentialCipher } from "../../shared/credential-cipher.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "../support/database.ts";
import { hasTaskset, startChild, startStoppableChild } from "./processes.ts";
import { seedPolicy, type SlugMap } from "./seed-policy.ts";

/** The gateway (and anything standing in for it) gets core 0; mock, load generators and peers' clients core 1. */
export const GATEWAY_CORE = 0;
export const CLIENT_CORE = 1;

export interface BenchEnv {
  database: TestDatabase;
  secretKey: Buffer;
  cipher: CredentialCipher;
  mockUrl: string;
  gatewayUrl: string;
  bareUrl: string;
  /** Process ids of the gateway and the bare passthrough (for /proc/<pid>/status), and of the mock. */
  pids: { gateway: number; bare: number; mock: number };
  /** An inference key of the benchmark's member, granted every seeded slug. */
  inferenceKey: string;
  /** Gateway slug → the upstream model name the mock reads its behaviour from (the direct and bare arms send the latter). */
  models: SlugMap;
  /** Environment a data-plane child needs to join this deployment (sections that start more instances use it). */
  dataPlaneEnv: Record<string, string>;
  log(line: string): void;
}

const cleanups: Array<() => Promise<unknown>> = [];

/** Work for the end of the run (after every child stopped): sections drop the databases they created here. */
export function atCleanup(work: () => Promise<unknown>): void {
  cleanups.push(work);
}

export async function runCleanups(): Promise<void> {
  for (const work of cleanups.splice(0).reverse()) await work().catch((error: unknown) => log(`cleanup failed: ${(error as Error).message}`));
}

export const benchFile = (file: string) => new URL(file, import.meta.url).pathname;
export const log = (line: string) => console.error(`[bench] ${line}`);

/**
 * BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of the gateway when it stops (open it in Chrome DevTools);
 * BENCH_GATEWAY_NODE_ARGS="--trace-gc" passes node/V8 flags to the gateway alone (the bare passthrough gets none).
 */
function gatewayNodeArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  const extra = (process.env.BENCH_GATEWAY_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
  return [...(dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), ...extra];
}

export async function startBenchEnv(models: SlugMap): Promise<BenchEnv> {
  if (!hasTaskset) log("taskset is not available: processes are NOT pinned to cores");
  const database = await createTestDatabase();
  const secretKey = randomBytes(32);
  const cipher = createCredentialCipher(secretKey);
  const pids = { gateway: 0, bare: 0, mock: 0 };
  const mockUrl = await startChild("mock provider", benchFile("../support/mock-provider-main.ts"), ["--port", "0"], {
    core: CLIENT_CORE,
    ready: /^(http:\/\/\S+)$/,
    onPid: (pid) => (pids.mock = pid),
  });
  const inferenceKey = await seedPolicy(database.url, cipher, mockUrl, models);
  const dataPlaneEnv = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    TOLLGATE_SECRET_KEY: secretKey.toString("hex"),
    DATA_PLANE_PORT: "0",
    DATA_PLANE_HOST: "127.0.0.1",
    // Other runs (and test suites) share this Redis: their change events must not reach this run's data planes.
    CHANGE_BUS_CHANNEL: `tollgate-bench:${randomBytes(6).toString("hex")}`,
  };
  const [gatewayUrl, bareUrl] = await Promise.all([
    startDataPlaneChild("data plane", dataPlaneEnv, gatewayNodeArgs(), (pid) => (pids.gateway = pid)),
    startChild("bare passthrough", benchFile("bare-passthrough.ts"), ["--upstream", mockUrl], {
      core: GATEWAY_CORE,
      ready: /^(http:\/\/\S+)$/,
      onPid: (pid) => (pids.bare = pid),
    }),
  ]);
  log(`mock ${mockUrl}, gateway ${gatewayUrl}, bare ${bareUrl}`);
  return { database, secretKey, cipher, mockUrl, gatewayUrl, bareUrl, pids, inferenceKey, models, dataPlaneEnv, log };
}

/** A data-plane process (data-plane/main.ts) on the gateway core; resolves with its base URL once it serves. */
export function startDataPlaneChild(name: string, env: Record<string, string>, nodeArgs: string[] = [], onPid?: (pid: number) => void): Promise<string> {
  return startChild(name, benchFile("../../data-plane/main.ts"), [], { core: GATEWAY_CORE, env, nodeArgs, onPid, ready: /data plane ready: (http:\/\/[^/\s]+)/ });
}

/** Like startDataPlaneChild, for sections that stop their instances before the next section runs. */
export function startStoppableDataPlaneChild(name: string, env: Record<string, string>, onLine?: (line: string) => void) {
  return startStoppableChild(name, benchFile("../../data-plane/main.ts"), [], { core: GATEWAY_CORE, env, timeoutMs: 120_000, onLine, ready: /data plane ready: (http:\/\/[^/\s]+)/ });
}
