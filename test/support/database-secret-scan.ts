// Scans every row of every table of a test database for plaintext API keys and provider credentials (see secret-scan.ts).
import pg from "pg";
import { credentialNeedles, findSecrets, type Leak } from "./secret-scan.ts";

/** Keys by shape (the SQL twin of API_KEY_SHAPE) or a known credential anywhere in the row. */
const KEY_REGEX = "tg_(pat|va)_[0-9A-Za-z]{49}";
const ROWS_SHOWN_PER_TABLE = 20;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Each row is searched as its text form (which covers text, json, arrays and enums) plus its bytea columns decoded as
 * escaped text, so a credential stored unencrypted in a binary column shows too. The search runs in Postgres, and only
 * matching rows come back.
 */
export async function scanDatabase(url: string, label: string): Promise<Leak[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; table: string; bytea: string[] | null }>(`
      SELECT t.table_schema AS schema, t.table_name AS table,
             array_agg(c.column_name::text) FILTER (WHERE c.data_type = 'bytea') AS bytea
      FROM information_schema.tables t
      JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name
      WHERE t.table_type = 'BASE TABLE' AND t.table_schema NOT IN ('pg_catalog', 'information_schema')
      GROUP BY t.table_schema, t.table_name`);
    const leaks: Leak[] = [];
    for (const { schema, table, bytea } of tables.rows) {
      const parts = ["r::text", ...(bytea ?? []).map((column) => `coalesce(encode(r.${ident(column)}, 'escape'), '')`)];
      const row = `concat_ws(' ', ${parts.join(", ")})`;
      const found = await client.query<{ row: string }>(
        `SELECT ${row} AS row FROM ${ident(schema)}.${ident(table)} r
         WHERE ${row} ~ $1 OR EXISTS (SELECT 1 FROM unnest($2::text[]) n WHERE strpos(${row}, n) > 0)
         LIMIT ${ROWS_SHOWN_PER_TABLE}`,
        [KEY_REGEX, credentialNeedles()],
      );
      for (const { row: text } of found.rows) leaks.push(...findSecrets(text, `database ${label} table ${table}`));
    }
    return leaks;
  } finally {
    await client.end();
  }
}
