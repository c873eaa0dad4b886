// Per-parent values for every parent row one request shows, loaded in one go: a page of 50 users costs one grouped
// query over those 50 ids, not one per user (N+1). Also used where Prisma's own relation loading costs too much: its
// relation count (t.relationCount) aggregates the whole child table and joins the page to it (every users page counted
// all 100k keys, ~70 ms at 10k users), a field whose selection conflicts with another's is refetched with its own
// chain of queries, and its nested loads of a page's groups and grants cost twice the CPU of plain statements
// (batchedQueryLoad, for prismaFields: the loader sees Pothos's planned selection and may hand it to Prisma).
import type { Context } from "./context.ts";
import type { Db } from "./db/client.ts";

/**
 * Values by parent id for the given ids (ids may be missing); `query` is the planned Prisma selection of a prismaField
 * (undefined for other fields). Define one per field, at module level.
 */
export type BatchLoader<T, Q = undefined> = (prisma: Db, ids: string[], query: Q) => Promise<Map<string, T>>;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type AnyLoader = BatchLoader<unknown, unknown>;
/** Per request: per loader, per selection (JSON of the query), the ids waiting for the next load. */
const pending = new WeakMap<Context, Map<AnyLoader, Map<string, Map<string, Waiter[]>>>>();

/** The value for `id` (undefined when the loader has none); calls for one loader within one turn of the event loop share one load. */
export function batchedLoad<T>(ctx: Context, load: BatchLoader<T>, id: string): Promise<T | undefined> {
  return enqueue(ctx, load as AnyLoader, id, undefined, "");
}

/**
 * batchedLoad for a prismaField: rows asking for the same selection share one load, given that selection. Different
 * selections of one field in one request (aliases, fragments) load apart, each still once for all its rows.
 */
export function batchedQueryLoad<T, Q>(ctx: Context, load: BatchLoader<T, Q>, id: string, query: Q): Promise<T | undefined> {
  return enqueue(ctx, load as AnyLoader, id, query, JSON.stringify(query));
}

function enqueue<T>(ctx: Context, load: AnyLoader, id: string, query: unknown, selection: string): Promise<T | undefined> {
  const byLoader = pending.get(ctx) ?? new Map<AnyLoader, Map<string, Map<string, Waiter[]>>>();
  pending.set(ctx, byLoader);
  const bySelection = byLoader.get(load) ?? new Map<string, Map<string, Waiter[]>>();
  byLoader.set(load, bySelection);
  let batch = bySelection.get(selection);
  if (!batch) {
    const fresh = new Map<string, Waiter[]>();
    bySelection.set(selection, (batch = fresh));
    // GraphQL resolves a list's fields synchronously before awaiting any: by the next turn the whole page is queued.
    setImmediate(() => {
      bySelection.delete(selection);
      load(ctx.prisma, [...fresh.keys()], query).then(
        (values) => {
          for (const [key, waiters] of fresh) for (const w of waiters) w.resolve(values.get(key));
        },
        (error: unknown) => {
          for (const waiters of fresh.values()) for (const w of waiters) w.reject(error);
        },
      );
    });
  }
  const waiters = batch.get(id) ?? [];
  batch.set(id, waiters);
  return new Promise<T | undefined>((resolve, reject) => waiters.push({ resolve: resolve as (value: unknown) => void, reject }));
}

/**
 * Whether a prismaField's planned selection asks for the rows' own fields and, of their relations, at most `relations`,
 * each whole (no nested selection): what a loader can read with plain statements instead of handing it to Prisma.
 */
export function ownFieldsAnd(query: { include?: object; select?: object }, ...relations: string[]): boolean {
  if (query.select !== undefined) return false;
  return Object.entries(query.include ?? {}).every(([relation, wanted]) => relations.includes(relation) && wanted === true);
}

/** Rows as lists by parent id, in row order (each row mapped by `value`, itself by default). */
export function listsBy<R, T = R>(rows: R[], parentOf: (row: R) => string, value: (row: R) => T = (row) => row as unknown as T): Map<string, T[]> {
  const lists = new Map<string, T[]>();
  for (const row of rows) {
    const parent = parentOf(row);
    const list = lists.get(parent);
    if (list) list.push(value(row));
    else lists.set(parent, [value(row)]);
  }
  return lists;
}

/** A count per parent (0 when it has no children). */
export async function batchedCount(ctx: Context, load: BatchLoader<number>, id: string): Promise<number> {
  return (await batchedLoad(ctx, load, id)) ?? 0;
}

/** A groupBy answer (`{ [by]: id, _count: { _all } }` rows) as counts by id. */
export function countsBy<K extends string>(rows: Array<Record<K, string | null> & { _count: { _all: number } }>, by: K): Map<string, number> {
  const counts = new Map<string, number>();
  for (const row of rows) if (row[by] !== null) counts.set(row[by] as string, row._count._all);
  return counts;
}
