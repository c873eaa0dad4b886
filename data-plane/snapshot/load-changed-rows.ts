// Reads the rows of only the principals a batch of changes touches, in ONE SQL statement (one consistent read, one
// round trip: under load every round trip waits for a busy event loop, and a dozen of them made propagation slow).
// The statement first finds whom the changed keys, grants, provider access, invites and groups belong to (a deleted
// grant's or access row's owner from its change's audit event, written in the same transaction as the delete), then
// returns those principals' keys, memberships, groups, grants, access, limits and budgets with the same filters and in
// the same shape as the full load (load-policy-rows.ts).
import type { Db } from "../../control-plane/db/client.ts";
import type { ChangeTargets } from "./change-targets.ts";
import type { PrincipalRows } from "./load-policy-rows.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

export interface ChangedRows {
  /** The stored policy version these rows were read at (at least the version of the batch's last event). */
  version: bigint;
  /** `u:<id>` / `v:<id>`: principals whose entries `rows` replace (those without rows any more are dropped). */
  owners: Set<string>;
  rows: PrincipalRows;
}

interface Answer {
  version: string | null;
  keysFound: number;
  untraceable: unknown;
  userIds: unknown;
  virtualAccountIds: unknown;
  keys: unknown;
  users: unknown;
  memberships: unknown;
  virtualAccounts: unknown;
  groups: unknown;
  grants: unknown;
  providerAccess: unknown;
  rateLimits: unknown;
  budgets: unknown;
}

const json = <T>(value: unknown): T => (typeof value === "string" ? JSON.parse(value) : value) as T;

/** null: something cannot be traced to its principals (a key row gone, an audit event without a subject), so only a full rebuild is safe. */
export async function loadChangedRows(prisma: Db, targets: ChangeTargets, index: SnapshotIndex): Promise<ChangedRows | null> {
  // Members the snapshot holds of the changed groups: removed ones, or all of a deleted group (the database has forgotten them).
  const userIds = new Set(targets.userIds);
  for (const groupId of targets.groupIds) for (const userId of index.membersOfGroup.get(groupId) ?? []) userIds.add(userId);
  const auditIds = [...targets.auditIds.values()].flat().map(String);
  const [answer] = await prisma.$queryRaw<Answer[]>`
    WITH
    found_rows AS (
      SELECT id, "userId", "groupId", "virtualAccountId" FROM "ModelGrant" WHERE id = ANY(${[...targets.grantIds]}::uuid[])
      UNION ALL
      SELECT id, "userId", "groupId", "virtualAccountId" FROM "ProviderAccess" WHERE id = ANY(${[...targets.accessIds]}::uuid[])),
    gone AS (
      SELECT t.id FROM unnest(${[...targets.grantIds, ...targets.accessIds]}::uuid[]) AS t(id) WHERE t.id NOT IN (SELECT id FROM found_rows)),
    subjects AS (
      SELECT "targetId", COALESCE("before"->'subject', "after"->'subject') AS s FROM "AuditEvent" WHERE id = ANY(${auditIds}::bigint[])),
    traced AS (
      SELECT s."targetId", s.s->>'type' AS type, (s.s->>'id')::uuid AS id FROM subjects s JOIN gone g ON s."targetId" = g.id::text
      WHERE s.s->>'type' IN ('User', 'Group', 'VirtualAccount') AND s.s->>'id' ~ '^[0-9a-fA-F-]{36}$'),
    target_groups AS (SELECT ARRAY(
      SELECT unnest(${[...targets.groupIds]}::uuid[])
      UNION SELECT "groupId" FROM found_rows WHERE "groupId" IS NOT NULL
      UNION SELECT id FROM traced WHERE type = 'Group') AS ids),
    target_users AS (SELECT ARRAY(
      SELECT unnest(${[...userIds]}::uuid[])
      UNION SELECT "userId" FROM "ApiKey" WHERE id = ANY(${[...targets.keyIds]}::uuid[]) AND "userId" IS NOT NULL
      UNION SELECT "userId" FROM found_rows WHERE "userId" IS NOT NULL
      UNION SELECT id FROM traced WHERE type = 'User'
      UNION SELECT "userId" FROM "Invite" WHERE id = ANY(${[...targets.inviteIds]}::uuid[]) AND "userId" IS NOT NULL
      UNION SELECT "userId" FROM "GroupMembership" WHERE "groupId" = ANY((SELECT ids FROM target_groups)::uuid[])) AS ids),
    target_accounts AS (SELECT ARRAY(
      SELECT unnest(${[...targets.virtualAccountIds]}::uuid[])
      UNION SELECT "virtualAccountId" FROM "ApiKey" WHERE id = ANY(${[...targets.keyIds]}::uuid[]) AND "virtualAccountId" IS NOT NULL
      UNION SELECT "virtualAccountId" FROM found_rows WHERE "virtualAccountId" IS NOT NULL
      UNION SELECT id FROM traced WHERE type = 'VirtualAccount') AS ids),
    -- Id lists as arrays, each computed once: = ANY(array) is an index scan (the cast makes the subquery one value, not a row
    -- set), where IN (subquery) inside an OR made every table a sequential scan (seconds at 100k keys).
    -- The owner's status as a correlated lookup per key (a few index probes): as EXISTS or as a join, the planner, not
    -- knowing how short the id lists are, hashed every user instead (2.5 of the statement's 3.3 ms at 10k users).
    keys AS (
      SELECT k.* FROM "ApiKey" k
      WHERE k."revokedAt" IS NULL
        AND (k."userId" = ANY((SELECT ids FROM target_users)::uuid[]) OR k."virtualAccountId" = ANY((SELECT ids FROM target_accounts)::uuid[]))
        AND (k."userId" IS NULL OR (SELECT u.status FROM "User" u WHERE u.id = k."userId") = 'ACTIVE')
        AND (k."virtualAccountId" IS NULL OR (SELECT v.status FROM "VirtualAccount" v WHERE v.id = k."virtualAccountId") = 'ACTIVE')),
    live AS (SELECT
      ARRAY(SELECT DISTINCT "userId" FROM keys WHERE "userId" IS NOT NULL) AS users,
      ARRAY(SELECT DISTINCT "virtualAccountId" FROM keys WHERE "virtualAccountId" IS NOT NULL) AS accounts,
      ARRAY(SELECT id FROM keys) AS keys),
    memberships AS (SELECT "userId", "groupId" FROM "GroupMembership" WHERE "userId" = ANY((SELECT users FROM live)::uuid[])),
    live_groups AS (SELECT ARRAY(SELECT DISTINCT "groupId" FROM memberships) AS ids)
    SELECT
      (SELECT version::text FROM "PolicyVersion" WHERE id = 1) AS version,
      (SELECT count(*)::int FROM "ApiKey" WHERE id = ANY(${[...targets.keyIds]}::uuid[])) AS "keysFound",
      (SELECT COALESCE(json_agg(g.id), '[]') FROM gone g WHERE NOT EXISTS (SELECT 1 FROM traced t WHERE t."targetId" = g.id::text)) AS untraceable,
      (SELECT array_to_json(ids) FROM target_users) AS "userIds",
      (SELECT array_to_json(ids) FROM target_accounts) AS "virtualAccountIds",
      (SELECT COALESCE(json_agg(json_build_object('id', id, 'prefix', prefix, 'hash', hash, 'scopes', scopes, 'modelSlugs', "modelSlugs", 'userId', "userId",
        'virtualAccountId', "virtualAccountId", 'expiresAt', (extract(epoch FROM "expiresAt") * 1000)::bigint)), '[]') FROM keys) AS keys,
      (SELECT COALESCE(json_agg(json_build_object('id', id, 'email', email)), '[]') FROM "User" WHERE id = ANY((SELECT users FROM live)::uuid[])) AS users,
      (SELECT COALESCE(json_agg(m), '[]') FROM memberships m) AS memberships,
      (SELECT COALESCE(json_agg(json_build_object('id', id, 'name', name)), '[]') FROM "VirtualAccount" WHERE id = ANY((SELECT accounts FROM live)::uuid[])) AS "virtualAccounts",
      (SELECT COALESCE(json_agg(json_build_object('id', id, 'name', name)), '[]') FROM "Group" WHERE id = ANY((SELECT ids FROM live_groups)::uuid[])) AS groups,
      (SELECT COALESCE(json_agg(json_build_object('modelId', "modelId", 'userId', "userId", 'groupId', "groupId", 'virtualAccountId', "virtualAccountId")), '[]')
        FROM "ModelGrant" WHERE "userId" = ANY((SELECT users FROM live)::uuid[]) OR "groupId" = ANY((SELECT ids FROM live_groups)::uuid[]) OR "virtualAccountId" = ANY((SELECT accounts FROM live)::uuid[])) AS grants,
      (SELECT COALESCE(json_agg(json_build_object('providerId', "providerId", 'level', level, 'userId', "userId", 'groupId', "groupId", 'virtualAccountId', "virtualAccountId")), '[]')
        FROM "ProviderAccess" WHERE "userId" = ANY((SELECT users FROM live)::uuid[]) OR "groupId" = ANY((SELECT ids FROM live_groups)::uuid[]) OR "virtualAccountId" = ANY((SELECT accounts FROM live)::uuid[])) AS "providerAccess",
      (SELECT COALESCE(json_agg(json_build_object('userId', "userId", 'groupId', "groupId", 'virtualAccountId', "virtualAccountId", 'apiKeyId', "apiKeyId",
        'requestsPerMinute', "requestsPerMinute", 'requestsPerSecond', "requestsPerSecond", 'tokensPerMinute', "tokensPerMinute",
        'concurrentRequests', "concurrentRequests")), '[]')
        FROM "RateLimit" WHERE "userId" = ANY((SELECT users FROM live)::uuid[]) OR "groupId" = ANY((SELECT ids FROM live_groups)::uuid[]) OR "virtualAccountId" = ANY((SELECT accounts FROM live)::uuid[])
          OR "apiKeyId" = ANY((SELECT keys FROM live)::uuid[])) AS "rateLimits",
      (SELECT COALESCE(json_agg(json_build_object('userId', "userId", 'groupId', "groupId", 'virtualAccountId', "virtualAccountId", 'apiKeyId', "apiKeyId",
        'period', period, 'capMicros', "capMicros"::text)), '[]')
        FROM "Budget" WHERE "userId" = ANY((SELECT users FROM live)::uuid[]) OR "groupId" = ANY((SELECT ids FROM live_groups)::uuid[]) OR "virtualAccountId" = ANY((SELECT accounts FROM live)::uuid[])
          OR "apiKeyId" = ANY((SELECT keys FROM live)::uuid[])) AS budgets`;
  if (!answer) return null;
  if (answer.keysFound < targets.keyIds.size || json<string[]>(answer.untraceable).length > 0) return null;

  type Row<K extends keyof PrincipalRows> = PrincipalRows[K][number];
  const keys = json<Array<Omit<Row<"keys">, "expiresAt"> & { expiresAt: number | null }>>(answer.keys).map((k) => ({
    ...k,
    expiresAt: k.expiresAt === null ? null : new Date(Number(k.expiresAt)),
  }));
  const budgets = json<Array<Omit<Row<"budgets">, "capMicros"> & { capMicros: string }>>(answer.budgets).map((b) => ({ ...b, capMicros: BigInt(b.capMicros) }));
  const owners = new Set([...json<string[]>(answer.userIds).map((id) => `u:${id}`), ...json<string[]>(answer.virtualAccountIds).map((id) => `v:${id}`)]);
  return {
    version: BigInt(answer.version ?? "0"),
    owners,
    rows: {
      keys,
      users: json(answer.users),
      memberships: json(answer.memberships),
      virtualAccounts: json(answer.virtualAccounts),
      groups: json(answer.groups),
      grants: json(answer.grants),
      providerAccess: json(answer.providerAccess),
      rateLimits: json(answer.rateLimits),
      budgets,
    },
  };
}
