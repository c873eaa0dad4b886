// The Prisma query of every cursor-paged list (each prismaConnection's findMany).

/**
 * With relationJoins on, Prisma loads relations with joins in one statement, but not under a cursor: there it falls
 * back to one query per relation. A list's first page would then issue other statements than the pages after it (the
 * users page: 6 against 10), so every paged list asks for the per-relation strategy and all its pages cost the same.
 * The joined first page was no cheaper (users page: ~18 ms of control-plane CPU either way, slower in Postgres).
 */
export function pagedQuery<Q extends object>(query: Q): Q & { relationLoadStrategy: "query" } {
  return { ...query, relationLoadStrategy: "query" };
}
