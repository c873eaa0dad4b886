// Plain SQL reads run on the pg pool under Prisma, for what runs on every request: the key lookup that authenticates
// it, and the batched loads of a list page (groups, grants, models, key counts, provider access of 50 users). Through
// Prisma the same reads cost 1.5–4× the control-plane CPU (a page's grants: 1.6–1.9 against 1.0–1.1 ms; its live key
// counts: 0.6–0.8 against 0.2 ms; the key lookup: 0.4–0.8 against 0.1–0.2 ms; scratch measurements on the bench host,
// issue 5), spent turning the driver's rows into Prisma's and back. Writes and everything else stay with Prisma.
import pg from "pg";

/** Runs `sql` with positional `values` ($1…) and returns its rows as objects keyed by column name. */
export type PoolRows = <T>(sql: string, values: readonly unknown[]) => Promise<T[]>;

const TIMESTAMP_OID = 1114;

// Prisma's DateTime columns are `timestamp(3)` without a zone, holding UTC; pg's own parser would read them as local time.
const parseUtcTimestamp = (text: string): Date => new Date(`${text.replace(" ", "T")}Z`);

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMP_OID && format !== "binary" ? parseUtcTimestamp : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * What reads mean here: bigint columns come back as strings and `bytea` as Buffers (cast in SQL what must be a
 * number), json as parsed values, enums as their names, uuids as strings; as from Prisma otherwise. `onQuery` sees each
 * statement as Prisma's query events do, so statement counts include these.
 */
export function poolRows(pool: pg.Pool, onQuery?: (sql: string, durationMs: number) => void): PoolRows {
  return async <T>(sql: string, values: readonly unknown[]) => {
    const startedAt = onQuery ? performance.now() : 0;
    const result = await pool.query({ text: sql, values: values as unknown[], types });
    onQuery?.(sql, performance.now() - startedAt);
    return result.rows as T[];
  };
}
