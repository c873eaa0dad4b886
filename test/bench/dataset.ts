// The large dataset the snapshot, control-plane and propagation sections share: seeded once per run into a database
// of its own (so the bench's gateway keeps the small policy), on first use, and dropped at the end of the run.
import { createTestDatabase, type TestDatabase } from "../support/database.ts";
import { atCleanup, type BenchEnv } from "./bench-env.ts";
import { datasetSizeFromEnv, type SeededDataset, seedDataset } from "./seed-dataset.ts";

export interface BigDataset extends SeededDataset {
  database: TestDatabase;
}

let seeding: Promise<BigDataset> | null = null;

export function bigDataset(env: BenchEnv): Promise<BigDataset> {
  seeding ??= (async () => {
    const database = await createTestDatabase();
    atCleanup(() => database.drop());
    const size = datasetSizeFromEnv();
    env.log(`seeding the dataset (${size.users} users, ${size.groups} groups, ${size.keys} keys, ${size.grants} grants) into ${database.name}`);
    const seeded = await seedDataset(database.url, env.cipher, `${env.mockUrl}/v1`, size);
    env.log(`dataset seeded in ${seeded.seconds.toFixed(1)} s`);
    return { database, ...seeded };
  })();
  return seeding;
}

/** One paragraph naming what the dataset holds and how long seeding took. */
export function datasetNote(dataset: BigDataset): string {
  const c = dataset.counts;
  return (
    `Dataset (test/bench/seed-dataset.ts, bulk SQL, seeded in ${dataset.seconds.toFixed(1)} s): ${c.User} users (each in 1–5 of ${c.Group} groups: ${c.GroupMembership} memberships), ` +
    `${c["ApiKey (live)"]} live keys (+${c.ApiKey! - c["ApiKey (live)"]!} revoked), ${c.ModelGrant} grants (90% to users, 10% to groups), ${c.ProviderAccess} provider-access rows, ` +
    `${c.RateLimit} rate limits and ${c.Budget} budgets (users, groups, keys), ${c.Model} models with ${c.ModelRoute} routes on ${c.Provider} providers, ${c.VirtualAccount} virtual accounts.`
  );
}
