// Seeds the large benchmark dataset (issue 5 items 5–7: 10k users, 1k groups, 100k keys, 100k grants by default) in
// one transaction of set-based SQL (INSERT … SELECT generate_series), so it takes seconds. The owner's key and a few
// sample keys are minted for real (shared/api-key-format.ts); every other key hash is a random SHA-256.
import pg from "pg";
import { mintApiKey } from "../../shared/api-key-format.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";

export interface DatasetSize {
  users: number;
  groups: number;
  keys: number;
  grants: number;
  models: number;
  providers: number;
  virtualAccounts: number;
}

const envInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number`);
  return value;
};

/** BENCH_DATASET_USERS / _GROUPS / _KEYS / _GRANTS override the sizes of issue 5. */
export function datasetSizeFromEnv(): DatasetSize {
  return {
    users: envInt("BENCH_DATASET_USERS", 10_000),
    groups: envInt("BENCH_DATASET_GROUPS", 1_000),
    keys: envInt("BENCH_DATASET_KEYS", 100_000),
    grants: envInt("BENCH_DATASET_GRANTS", 100_000),
    models: 100,
    providers: 5,
    virtualAccounts: 50,
  };
}

export interface SeededDataset {
  size: DatasetSize;
  /** An OWNER's key with the admin and inference scopes. */
  ownerKey: string;
  /** Real keys of a few ACTIVE dataset users (each in 1–5 groups), for requests that must authenticate. */
  sampleKeys: { userId: string; keyId: string; secret: string }[];
  /** Groups without a rate limit or budget of their own: probes in them are never refused by a group cap. */
  unlimitedGroupIds: string[];
  /** Slugs of the seeded models (all routed to the given base URL). */
  modelSlugs: string[];
  /** Row counts as stored, per table. */
  counts: Record<string, number>;
  seconds: number;
}

const FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia", "Donald", "Sophie", "Tim", "Hedy", "John", "Katherine", "Guido", "Anita", "Bjarne", "Joan", "Niklaus", "Shafi", "Leslie", "Karen", "Ivan", "Mary", "James", "Jean", "Robin", "Lynn", "Yukihiro", "Adele", "Brian", "Carol", "Rob", "Evelyn", "Whitfield", "Ellen", "Martin"];
const LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman", "Knuth", "Wilson", "Berners-Lee", "Lamarr", "McCarthy", "Johnson", "Rossum", "Borg", "Stroustrup", "Clarke", "Wirth", "Goldwasser", "Lamport", "Jones", "Sutherland", "Keller", "Gosling", "Sammet", "Milner", "Conway", "Matsumoto", "Goldberg", "Kernighan", "Shaw", "Pike", "Boyd", "Diffie", "Spertus", "Fowler", "Smith", "Nguyen", "Garcia", "Müller", "Rossi", "Kowalski", "Silva", "Novak", "Tanaka", "Okafor"];
const TEAMS = ["Engineering", "Research", "Support", "Sales", "Marketing", "Finance", "Legal", "Design", "Data", "Platform", "Security", "Infra", "Mobile", "Web", "Ops", "Growth", "Interns", "Contractors", "QA", "Docs"];
const SAMPLE_KEYS = 20;

export async function seedDataset(databaseUrl: string, cipher: CredentialCipher, baseUrl: string, size: DatasetSize): Promise<SeededDataset> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const q = (sql: string, params: unknown[] = []) => client.query(sql, params);
  try {
    await q("BEGIN");
    // The rows are consistent by construction: skipping the per-row foreign-key triggers makes the inserts ~5× faster.
    await q("SET LOCAL session_replication_role = replica");
    // Index-numbered ids in temporary tables, so every later INSERT … SELECT can pick its rows arithmetically.
    await q(`CREATE TEMP TABLE ds_user ON COMMIT DROP AS
      SELECT i, gen_random_uuid() AS id,
        CASE WHEN i % 50 = 0 THEN 'DISABLED' WHEN i % 33 = 0 THEN 'INVITED' ELSE 'ACTIVE' END AS status
      FROM generate_series(0, $1::int - 1) i`, [size.users]);
    await q(`CREATE TEMP TABLE ds_group ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id FROM generate_series(0, $1::int - 1) i`, [size.groups]);
    await q(`CREATE TEMP TABLE ds_model ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id FROM generate_series(0, $1::int - 1) i`, [size.models]);
    await q(`CREATE TEMP TABLE ds_provider ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id FROM generate_series(0, $1::int - 1) i`, [size.providers]);
    await q(`CREATE TEMP TABLE ds_va ON COMMIT DROP AS SELECT i, gen_random_uuid() AS id FROM generate_series(0, $1::int - 1) i`, [size.virtualAccounts]);
    // Key owners: users that accepted their invite (active or since disabled), numbered densely.
    await q(`CREATE TEMP TABLE ds_owner ON COMMIT DROP AS SELECT (row_number() OVER (ORDER BY i)) - 1 AS n, id FROM ds_user WHERE status <> 'INVITED'`);

    for (const p of (await q(`SELECT i, id FROM ds_provider ORDER BY i`)).rows as { i: number; id: string }[]) {
      await q(`INSERT INTO "Provider"(id, name, kind, "baseUrl", "credentialsCiphertext", "credentialsLast4", "updatedAt") VALUES ($1, $2, 'openai', $3, $4, 'ench', now())`, [
        p.id,
        `dataset provider ${p.i}`,
        baseUrl,
        cipher.encrypt(`sk-dataset-${p.i}`),
      ]);
    }
    const perProvider = Math.ceil(size.models / size.providers);
    await q(`CREATE TEMP TABLE ds_pm ON COMMIT DROP AS
      SELECT p.i * $1::int + j AS i, gen_random_uuid() AS id, p.id AS provider_id, 'mock-pm' || j AS upstream
      FROM ds_provider p, generate_series(0, $1::int - 1) j`, [perProvider]);
    await q(`INSERT INTO "ProviderModel"(id, "providerId", "upstreamName", "inputPricePerMTok", "outputPricePerMTok", "updatedAt")
      SELECT id, provider_id, upstream, 150000 + i * 1000, 600000 + i * 1000, now() FROM ds_pm`);
    await q(`INSERT INTO "Model"(id, slug, "displayName", "updatedAt") SELECT id, 'ds-chat-' || i, 'Dataset chat ' || i, now() FROM ds_model`);
    // Every model has a route; every third a second, lower-priority one on another provider.
    const pmCount = perProvider * size.providers;
    await q(`INSERT INTO "ModelRoute"(id, "modelId", "providerModelId", priority)
      SELECT gen_random_uuid(), m.id, pm.id, 0 FROM ds_model m JOIN ds_pm pm ON pm.i = m.i % $1::int
      UNION ALL
      SELECT gen_random_uuid(), m.id, pm.id, 1 FROM ds_model m JOIN ds_pm pm ON pm.i = (m.i + $2::int) % $1::int WHERE m.i % 3 = 0`, [pmCount, perProvider]);

    await q(`INSERT INTO "User"(id, email, name, role, status, "lastLoginAt", "createdAt", "updatedAt")
      SELECT id,
        lower(($1::text[])[1 + i % cardinality($1::text[])] || '.' || ($2::text[])[1 + (i / 7) % cardinality($2::text[])]) || '.' || i || '@dataset.test',
        ($1::text[])[1 + i % cardinality($1::text[])] || ' ' || ($2::text[])[1 + (i / 7) % cardinality($2::text[])],
        'MEMBER', status::"UserStatus",
        CASE WHEN status = 'INVITED' THEN NULL ELSE now() - (i % 1000) * interval '1 hour' END,
        now() - i * interval '1 minute', now()
      FROM ds_user`, [FIRST, LAST]);
    await q(`INSERT INTO "Group"(id, name, description, "createdAt", "updatedAt")
      SELECT id, ($1::text[])[1 + i % cardinality($1::text[])] || ' ' || i, 'Dataset group ' || i, now() - i * interval '1 minute', now() FROM ds_group`, [TEAMS]);
    await q(`INSERT INTO "VirtualAccount"(id, name, "updatedAt") SELECT id, 'dataset-app-' || i, now() FROM ds_va`);
    // Each user in 1–5 groups; the step 197 keeps one user's groups distinct (5 × 197 < 1000 for the default size).
    await q(`INSERT INTO "GroupMembership"("groupId", "userId")
      SELECT DISTINCT g.id, u.id FROM ds_user u CROSS JOIN generate_series(0, 4) k
      JOIN ds_group g ON g.i = (u.i + k * 197) % $1::int WHERE k <= u.i % 5`, [size.groups]);

    // Keys: a few real ones of active users first, then random hashes for the rest, spread over owners and VAs.
    const samples = (await q(`SELECT u.id FROM ds_user u WHERE u.status = 'ACTIVE' ORDER BY u.i LIMIT $1`, [SAMPLE_KEYS])).rows as { id: string }[];
    const sampleKeys: SeededDataset["sampleKeys"] = [];
    for (const { id } of samples) {
      const minted = mintApiKey("user");
      const row = await q(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "userId") VALUES (gen_random_uuid(), 'sample', $1, $2, '{inference}', $3) RETURNING id`, [minted.prefix, minted.hash, id]);
      sampleKeys.push({ userId: id, keyId: (row.rows[0] as { id: string }).id, secret: minted.secret });
    }
    const vaKeys = Math.min(size.virtualAccounts * 10, Math.floor(size.keys / 10));
    const userKeys = Math.max(0, size.keys - vaKeys - sampleKeys.length);
    await q(`CREATE TEMP TABLE ds_key ON COMMIT DROP AS
      SELECT j, gen_random_uuid() AS id, o.id AS user_id FROM generate_series(0, $1::int - 1) j
      JOIN ds_owner o ON o.n = j % (SELECT count(*) FROM ds_owner)`, [userKeys]);
    await q(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "modelSlugs", "userId", "expiresAt", "createdAt")
      SELECT k.id, 'key ' || k.j, 'tg_pat_' || substr(md5(k.id::text), 1, 8), encode(sha256(convert_to(k.id::text || random()::text, 'UTF8')), 'hex'),
        CASE WHEN k.j % 20 = 0 THEN '{admin,inference}'::text[] ELSE '{inference}'::text[] END,
        CASE WHEN k.j % 25 = 0 THEN ARRAY['ds-chat-' || (k.j % $1::int), 'ds-chat-' || ((k.j + 1) % $1::int)] ELSE '{}'::text[] END,
        k.user_id, CASE WHEN k.j % 10 = 0 THEN now() + interval '90 days' END, now() - (k.j % 10000) * interval '1 minute'
      FROM ds_key k`, [size.models]);
    await q(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "virtualAccountId")
      SELECT gen_random_uuid(), 'app key ' || j, 'tg_va_' || substr(md5(j::text), 1, 8), encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'), '{inference}', va.id
      FROM generate_series(0, $1::int - 1) j JOIN ds_va va ON va.i = j % $2::int`, [vaKeys, size.virtualAccounts]);
    // Revoked keys on top (a real organisation has them; the snapshot skips them).
    await q(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "userId", "revokedAt")
      SELECT gen_random_uuid(), 'old key', 'tg_pat_' || substr(md5(o.id::text), 1, 8), encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex'), '{inference}', o.id, now() - interval '1 day'
      FROM ds_owner o WHERE o.n % 2 = 0`);

    // Grants: 90% to users (step 7 keeps one user's models distinct), 10% to groups (step 11).
    const groupGrants = Math.min(Math.round(size.grants * 0.1), size.groups * size.models);
    const userGrants = Math.min(size.grants - groupGrants, size.users * size.models);
    await q(`INSERT INTO "ModelGrant"(id, "modelId", "userId")
      SELECT gen_random_uuid(), m.id, u.id FROM generate_series(0, $1::int - 1) j
      JOIN ds_user u ON u.i = j % $2::int JOIN ds_model m ON m.i = (u.i * 13 + (j / $2::int) * 7) % $3::int`, [userGrants, size.users, size.models]);
    await q(`INSERT INTO "ModelGrant"(id, "modelId", "groupId")
      SELECT gen_random_uuid(), m.id, g.id FROM generate_series(0, $1::int - 1) j
      JOIN ds_group g ON g.i = j % $2::int JOIN ds_model m ON m.i = (g.i * 3 + (j / $2::int) * 11) % $3::int`, [groupGrants, size.groups, size.models]);
    await q(`INSERT INTO "ProviderAccess"(id, "providerId", "groupId", level)
      SELECT gen_random_uuid(), p.id, g.id, CASE WHEN g.i % 100 = 0 THEN 'MANAGER' ELSE 'USER' END::"AccessLevel"
      FROM ds_group g JOIN ds_provider p ON p.i = g.i % $1::int WHERE g.i % 10 = 0`, [size.providers]);
    await q(`INSERT INTO "ProviderAccess"(id, "providerId", "userId")
      SELECT gen_random_uuid(), p.id, u.id FROM ds_user u JOIN ds_provider p ON p.i = u.i % $1::int WHERE u.i % 100 = 7`, [size.providers]);

    // Limits and budgets: a fifth of the users, half the groups (even ones), every hundredth key.
    await q(`INSERT INTO "RateLimit"(id, "userId", "requestsPerMinute", "tokensPerMinute", "updatedAt")
      SELECT gen_random_uuid(), id, 600, 200000, now() FROM ds_user WHERE i % 5 = 0`);
    await q(`INSERT INTO "RateLimit"(id, "groupId", "requestsPerMinute", "concurrentRequests", "updatedAt")
      SELECT gen_random_uuid(), id, 300 + (i % 10) * 100, 20, now() FROM ds_group WHERE i % 2 = 0`);
    await q(`INSERT INTO "RateLimit"(id, "apiKeyId", "requestsPerMinute", "updatedAt") SELECT gen_random_uuid(), id, 120, now() FROM ds_key WHERE j % 100 = 0`);
    await q(`INSERT INTO "Budget"(id, "userId", period, "capMicros", "updatedAt")
      SELECT gen_random_uuid(), u.id, p.period::"BudgetPeriod", p.cap, now() FROM ds_user u,
        (VALUES ('DAILY', 20000000), ('MONTHLY', 300000000)) p(period, cap) WHERE u.i % 5 = 1`);
    await q(`INSERT INTO "Budget"(id, "groupId", period, "capMicros", "updatedAt")
      SELECT gen_random_uuid(), g.id, p.period::"BudgetPeriod", p.cap, now() FROM ds_group g,
        (VALUES ('DAILY', 50000000), ('WEEKLY', 250000000)) p(period, cap) WHERE g.i % 4 = 0`);
    await q(`INSERT INTO "Budget"(id, "apiKeyId", period, "capMicros", "updatedAt") SELECT gen_random_uuid(), id, 'DAILY', 5000000, now() FROM ds_key WHERE j % 200 = 0`);
    const unlimited = (await q(`SELECT id FROM ds_group WHERE i % 2 = 1 ORDER BY i LIMIT 20`)).rows as { id: string }[];

    const owner = mintApiKey("user");
    const ownerRow = await q(`INSERT INTO "User"(id, email, name, role, status, "updatedAt") VALUES (gen_random_uuid(), 'owner@dataset.test', 'Dataset owner', 'OWNER', 'ACTIVE', now()) RETURNING id`);
    await q(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "userId") VALUES (gen_random_uuid(), 'bench owner', $1, $2, '{admin,inference}', $3)`, [
      owner.prefix,
      owner.hash,
      (ownerRow.rows[0] as { id: string }).id,
    ]);
    // Running data planes see the new version at their next check and resync.
    await q(`INSERT INTO "PolicyVersion"(id, version, "updatedAt") VALUES (1, 1, now()) ON CONFLICT (id) DO UPDATE SET version = "PolicyVersion".version + 1, "updatedAt" = now()`);
    await q("COMMIT");
    await q("ANALYZE");

    const counts: Record<string, number> = {};
    for (const table of ["User", "Group", "GroupMembership", "ApiKey", "ModelGrant", "ProviderAccess", "RateLimit", "Budget", "Model", "ModelRoute", "ProviderModel", "Provider", "VirtualAccount"]) {
      counts[table] = Number((await q(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n);
    }
    counts["ApiKey (live)"] = Number((await q(`SELECT count(*)::int AS n FROM "ApiKey" WHERE "revokedAt" IS NULL`)).rows[0].n);
    const modelSlugs = ((await q(`SELECT slug FROM "Model" WHERE slug LIKE 'ds-chat-%' ORDER BY slug`)).rows as { slug: string }[]).map((r) => r.slug);
    return {
      size,
      ownerKey: owner.secret,
      sampleKeys,
      unlimitedGroupIds: unlimited.map((r) => r.id),
      modelSlugs,
      counts,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await q("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}

/** An OWNER with a real admin + inference key in an existing database (the control plane bootstraps one only when it has no users). */
export async function addOwnerKey(databaseUrl: string, email: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const minted = mintApiKey("user");
    const owner = await client.query(`INSERT INTO "User"(id, email, name, role, status, "updatedAt") VALUES (gen_random_uuid(), $1, 'Bench owner', 'OWNER', 'ACTIVE', now()) RETURNING id`, [email]);
    await client.query(`INSERT INTO "ApiKey"(id, name, prefix, hash, scopes, "userId") VALUES (gen_random_uuid(), 'bench owner', $1, $2, '{admin,inference}', $3)`, [
      minted.prefix,
      minted.hash,
      (owner.rows[0] as { id: string }).id,
    ]);
    await client.query(`UPDATE "PolicyVersion" SET version = version + 1, "updatedAt" = now() WHERE id = 1`);
    return minted.secret;
  } finally {
    await client.end();
  }
}
