// Sums usage records per combination of the chosen dimensions in one SQL statement, labels (email, account name,
// key prefix) joined in the same statement, so the cost does not grow with the number of rows or people.
import type { Db } from "../db/client.ts";
import { Prisma } from "../db/generated/prisma/client.ts";
import type { UsageScope } from "./usage-filter.ts";
import type { UsageDimension, UsageRowShape } from "./usage-type.ts";

interface RawUsageRow extends Omit<UsageRowShape, "requests" | "inputTokens" | "outputTokens" | "cachedTokens" | "errors"> {
  requests: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cachedTokens: bigint;
  errors: bigint;
}

export async function aggregateUsage(db: Db, scope: UsageScope, dimensions: ReadonlySet<UsageDimension>): Promise<UsageRowShape[]> {
  // A dimension not grouped by is a constant NULL, so the statement always has the same five grouping columns.
  // Only these fixed fragments and bound parameters reach the SQL; no text from the request is spliced in.
  const by = (dimension: UsageDimension, column: Prisma.Sql, none: Prisma.Sql) => (dimensions.has(dimension) ? column : none);
  const rows = await db.$queryRaw<RawUsageRow[]>`
    WITH totals AS (
      SELECT
        ${by("DAY", Prisma.sql`to_char(date_trunc('day', r."createdAt"), 'YYYY-MM-DD')`, Prisma.sql`NULL::text`)} AS "day",
        ${by("USER", Prisma.sql`r."userId"`, Prisma.sql`NULL::uuid`)} AS "userId",
        ${by("VIRTUAL_ACCOUNT", Prisma.sql`r."virtualAccountId"`, Prisma.sql`NULL::uuid`)} AS "virtualAccountId",
        ${by("MODEL", Prisma.sql`r."modelSlug"`, Prisma.sql`NULL::text`)} AS "modelSlug",
        ${by("API_KEY", Prisma.sql`r."apiKeyId"`, Prisma.sql`NULL::uuid`)} AS "apiKeyId",
        COUNT(*) AS "requests",
        COALESCE(SUM(r."inputTokens"), 0)::bigint AS "inputTokens",
        COALESCE(SUM(r."outputTokens"), 0)::bigint AS "outputTokens",
        COALESCE(SUM(r."cachedTokens"), 0)::bigint AS "cachedTokens",
        COALESCE(SUM(r."costMicros"), 0)::bigint AS "costMicros",
        COUNT(*) FILTER (WHERE r."status" >= 400) AS "errors"
      FROM "UsageRecord" r
      WHERE ${Prisma.join(conditions(scope), " AND ")}
      GROUP BY 1, 2, 3, 4, 5
    )
    SELECT t.*, u."email" AS "userEmail", v."name" AS "virtualAccountName", k."prefix" AS "apiKeyPrefix"
    FROM totals t
    LEFT JOIN "User" u ON u."id" = t."userId"
    LEFT JOIN "VirtualAccount" v ON v."id" = t."virtualAccountId"
    LEFT JOIN "ApiKey" k ON k."id" = t."apiKeyId"
    ORDER BY t."day" NULLS FIRST, t."costMicros" DESC, t."requests" DESC,
      u."email", v."name", t."modelSlug", k."prefix", t."userId", t."virtualAccountId", t."apiKeyId"`;
  return rows.map((row) => ({
    ...row,
    requests: Number(row.requests),
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    cachedTokens: Number(row.cachedTokens),
    errors: Number(row.errors),
  }));
}

/** Whose records and when: a report's scope, or a budget window (open-ended for TOTAL). */
type RecordScope = Partial<Pick<UsageScope, "userId" | "groupId" | "virtualAccountId" | "apiKeyId" | "modelSlug">> & { from: Date; to: Date | null };

/** What the records in `scope` cost, summed in one statement. */
export async function sumCostMicros(db: Db, scope: RecordScope): Promise<bigint> {
  const [row] = await db.$queryRaw<{ costMicros: bigint }[]>`
    SELECT COALESCE(SUM(r."costMicros"), 0)::bigint AS "costMicros"
    FROM "UsageRecord" r
    WHERE ${Prisma.join(conditions(scope), " AND ")}`;
  return row?.costMicros ?? 0n;
}

/** Usage records keep plain user ids (schema.prisma), so a group's current members are matched with a subquery. */
function conditions(scope: RecordScope): Prisma.Sql[] {
  // "createdAt" is a timestamp without time zone holding UTC; bounds are converted to UTC wall time explicitly so
  // neither the driver's nor the session's time zone can shift them.
  const where = [Prisma.sql`r."createdAt" >= (${scope.from.toISOString()}::timestamptz AT TIME ZONE 'UTC')`];
  if (scope.to !== null) where.push(Prisma.sql`r."createdAt" < (${scope.to.toISOString()}::timestamptz AT TIME ZONE 'UTC')`);
  if (scope.userId) where.push(Prisma.sql`r."userId" = ${scope.userId}::uuid`);
  if (scope.groupId) {
    where.push(Prisma.sql`r."userId" IN (SELECT m."userId" FROM "GroupMembership" m WHERE m."groupId" = ${scope.groupId}::uuid)`);
  }
  if (scope.virtualAccountId) where.push(Prisma.sql`r."virtualAccountId" = ${scope.virtualAccountId}::uuid`);
  if (scope.apiKeyId) where.push(Prisma.sql`r."apiKeyId" = ${scope.apiKeyId}::uuid`);
  if (scope.modelSlug) where.push(Prisma.sql`r."modelSlug" = ${scope.modelSlug}`);
  return where;
}
