// The secrets scan itself: it must catch a planted key or credential in a table, a binary column, JSON and a log.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { mintApiKey } from "../../shared/api-key-format.ts";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";
import { adminUrl, createTestDatabase } from "./database.ts";
import { scanDatabase } from "./database-secret-scan.ts";
import { captureLog, findSecrets, recordingCipher, rememberCredential, SecretLeakError, testCredential } from "./secret-scan.ts";

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return (await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

async function sql(url: string, text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

describe("secret scan", () => {
  it("finds a user's and a virtual account's key, a remembered credential and a marked one, but not a prefix or hash", () => {
    const user = mintApiKey("user");
    const va = mintApiKey("virtualAccount");
    const remembered = `remembered-${randomBytes(6).toString("hex")}`;
    rememberCredential(remembered);
    const marked = testCredential("unit");
    const text = `a=${user.secret} b=${va.secret} c=${remembered} d=${marked} prefix=${user.prefix} hash=${user.hash}`;
    expect(findSecrets(text, "text").map((l) => l.kind)).toEqual(["api key", "api key", "provider credential", "provider credential"]);
    expect(findSecrets(`prefix=${user.prefix} hash=${user.hash} last4=${remembered.slice(-4)}`, "text")).toEqual([]);
    // A failure message must not hand the secret on.
    expect(new SecretLeakError(findSecrets(text, "text")).message).not.toContain(user.secret);
  });

  it("the recording cipher makes every encrypted plaintext something the scan finds", () => {
    const cipher = recordingCipher(createCredentialCipher(randomBytes(32)));
    const secret = `via-cipher-${randomBytes(6).toString("hex")}`;
    expect(cipher.decrypt(cipher.encrypt(secret))).toBe(secret);
    expect(findSecrets(`echo ${secret}`, "log")).toHaveLength(1);
  });

  it("a log capture reports a key logged in a line", () => {
    const logs = captureLog("data-plane log");
    logs.log("request refused");
    expect(logs.leaks()).toEqual([]);
    logs.log(`refused key ${mintApiKey("user").secret}`);
    expect(logs.leaks()).toEqual([expect.objectContaining({ kind: "api key", where: "data-plane log" })]);
  });

  it("drop() fails on a key in a text column, a credential in a bytea column or in JSON, and drops the database anyway", async () => {
    const plants: [string, (url: string) => Promise<void>][] = [
      ["User", (url) => sql(url, `INSERT INTO "User" (id, email, name, "updatedAt") VALUES (gen_random_uuid(), 'a@b.test', $1, now())`, [`key ${mintApiKey("user").secret}`])],
      [
        "Provider",
        (url) =>
          sql(url, `INSERT INTO "Provider" (id, name, kind, "baseUrl", "credentialsCiphertext", "updatedAt") VALUES (gen_random_uuid(), 'p', 'openai', 'http://x', $1, now())`, [
            Buffer.from(`\u0001${testCredential("bytea")}\u0002`),
          ]),
      ],
      ["AuditEvent", (url) => sql(url, `INSERT INTO "AuditEvent" (action, "targetType", after) VALUES ('x', 'y', $1)`, [JSON.stringify({ credentials: testCredential("json") })])],
    ];
    const database = await createTestDatabase();
    for (const [, plant] of plants) await plant(database.url);
    const failure = await database.drop().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SecretLeakError);
    const where = (failure as SecretLeakError).leaks.map((l) => `${l.kind} in ${l.where.split(" ").at(-1)}`);
    expect(where.sort()).toEqual(plants.map(([table]) => `${table === "User" ? "api key" : "provider credential"} in ${table}`).sort());
    expect(await databaseExists(database.name)).toBe(false);
  });

  it("a database holding only hashes, prefixes and ciphertext passes", async () => {
    const database = await createTestDatabase();
    try {
      const key = mintApiKey("user");
      const cipher = createCredentialCipher(randomBytes(32));
      await sql(database.url, `INSERT INTO "User" (id, email, name, "updatedAt") VALUES (gen_random_uuid(), 'a@b.test', $1, now())`, [`${key.prefix} ${key.hash}`]);
      await sql(database.url, `INSERT INTO "Provider" (id, name, kind, "baseUrl", "credentialsCiphertext", "updatedAt") VALUES (gen_random_uuid(), 'p', 'openai', 'http://x', $1, now())`, [
        Buffer.from(cipher.encrypt(testCredential("sealed"))),
      ]);
      expect(await scanDatabase(database.url, database.name)).toEqual([]);
    } finally {
      await database.drop();
    }
  });
});
