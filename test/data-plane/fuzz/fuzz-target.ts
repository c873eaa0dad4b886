// The data plane under fuzz: a real data-plane process (data-plane/main.ts, so a native uWS abort kills only it) on a
// seeded database, real Redis and the mock provider, with its output captured for the secrets scan.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { createDb } from "../../../control-plane/db/client.ts";
import { issueApiKey } from "../../../control-plane/keys/issue-api-key.ts";
import { mintApiKey } from "../../../shared/api-key-format.ts";
import { createCredentialCipher } from "../../../shared/credential-cipher.ts";
import { createTestDatabase, redisUrl, type TestDatabase } from "../../support/database.ts";
import { type MockProvider, startMockProvider } from "../../support/mock-provider.ts";
import { assertNoLeaks, captureLog, type LogCapture, rememberCredential, testCredential } from "../../support/secret-scan.ts";

/** Small, so over-limit bodies cost little to send. */
export const FUZZ_MAX_BODY_BYTES = 64 * 1024;

export interface FuzzKeys {
  /** Granted every fuzz slug. */
  valid: string;
  revoked: string;
  expired: string;
  /** A key with the admin scope only. */
  adminOnly: string;
  /** Well-formed (right checksum) but never issued. */
  unknown: string;
}

export interface FuzzSlugs {
  chat: string;
  messages: string;
  /** Exists, but the fuzz user has no grant. */
  ungranted: string;
}

export interface FuzzTarget {
  port: number;
  keys: FuzzKeys;
  slugs: FuzzSlugs;
  mock: MockProvider;
  logs: LogCapture;
  /** Exit code or signal once the data plane died; null while it runs. */
  exited(): string | null;
  /** Resident memory of the data-plane process, from /proc. */
  rssBytes(): number;
  close(): Promise<void>;
}

async function seed(database: TestDatabase, secretKey: Buffer, mockUrl: string, credential: string): Promise<{ keys: FuzzKeys; slugs: FuzzSlugs }> {
  const cipher = createCredentialCipher(secretKey);
  const prisma = createDb(database.url, 1);
  try {
    const sealed = { credentialsCiphertext: cipher.encrypt(credential), credentialsLast4: credential.slice(-4) };
    const openai = await prisma.provider.create({ data: { name: "fuzz openai", kind: "openai", baseUrl: `${mockUrl}/v1`, ...sealed } });
    const anthropic = await prisma.provider.create({ data: { name: "fuzz anthropic", kind: "anthropic", baseUrl: mockUrl, ...sealed } });
    const user = await prisma.user.create({ data: { email: "fuzz@tollgate.test", name: "fuzz", role: "MEMBER" } });
    const slugs: FuzzSlugs = { chat: "fuzz-chat", messages: "fuzz-messages", ungranted: "fuzz-ungranted" };
    for (const [slug, providerId, granted] of [
      [slugs.chat, openai.id, true],
      [slugs.messages, anthropic.id, true],
      [slugs.ungranted, openai.id, false],
    ] as const) {
      const pm = await prisma.providerModel.create({ data: { providerId, upstreamName: `mock-${slug}`, inputPricePerMTok: 1_000_000n, outputPricePerMTok: 2_000_000n } });
      const model = await prisma.model.create({ data: { slug, displayName: slug } });
      await prisma.modelRoute.create({ data: { modelId: model.id, providerModelId: pm.id } });
      if (granted) await prisma.modelGrant.create({ data: { modelId: model.id, userId: user.id } });
    }
    // Generous, but present: every admitted request runs the whole Redis admission script.
    await prisma.rateLimit.create({ data: { userId: user.id, requestsPerMinute: 1_000_000_000, tokensPerMinute: 2_000_000_000 } });
    await prisma.budget.create({ data: { userId: user.id, period: "DAILY", capMicros: 1_000_000_000_000_000n } });
    const issue = (name: string, scopes: ("inference" | "admin")[], expiresAt: Date | null = null) =>
      prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: user.id }, name, scopes, expiresAt }));
    const valid = await issue("valid", ["inference"]);
    const revoked = await issue("revoked", ["inference"]);
    await prisma.apiKey.update({ where: { id: revoked.key.id }, data: { revokedAt: new Date() } });
    const expired = await issue("expired", ["inference"], new Date(Date.now() - 60_000));
    const adminOnly = await issue("admin only", ["admin"]);
    return {
      keys: { valid: valid.secret, revoked: revoked.secret, expired: expired.secret, adminOnly: adminOnly.secret, unknown: mintApiKey("user").secret },
      slugs,
    };
  } finally {
    await prisma.$disconnect();
  }
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const database = await createTestDatabase();
  const credential = testCredential("fuzz");
  rememberCredential(credential);
  const mock = await startMockProvider({ requireCredential: credential });
  const secretKey = randomBytes(32);
  const { keys, slugs } = await seed(database, secretKey, mock.url, credential);
  const logs = captureLog("fuzzed data-plane output");
  const child = spawn(process.execPath, ["--import", "tsx", new URL("../../../data-plane/main.ts", import.meta.url).pathname], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      TOLLGATE_SECRET_KEY: secretKey.toString("hex"),
      DATA_PLANE_HOST: "127.0.0.1",
      DATA_PLANE_PORT: "0",
      DATA_PLANE_MAX_BODY_BYTES: String(FUZZ_MAX_BODY_BYTES),
      UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "10000",
      // As in test/support/stack.ts: on a loaded machine Redis may answer later than the production default.
      REDIS_TIMEOUT_MS: "2000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exit: string | null = null;
  child.on("exit", (code, signal) => (exit = `exit code ${code}, signal ${signal}`));
  createInterface({ input: child.stderr! }).on("line", logs.log);
  const port = await readyPort(child, logs);
  return {
    port,
    keys,
    slugs,
    mock,
    logs,
    exited: () => exit,
    rssBytes: () => rssOf(child.pid!),
    async close() {
      if (exit === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await mock.close();
      await database.drop();
      assertNoLeaks(logs.leaks());
    },
  };
}

function readyPort(child: ChildProcess, logs: LogCapture): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the data plane did not start in 60 s:\n${logs.lines.join("\n")}`)), 60_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.log(line);
      const ready = /data plane ready: http:\/\/[^:]+:(\d+)/.exec(line);
      if (ready) {
        clearTimeout(timer);
        resolve(Number(ready[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the data plane exited with ${code} before it was ready:\n${logs.lines.join("\n")}`));
    });
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}
