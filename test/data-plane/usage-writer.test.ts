import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { startEmbeddedPostgres } from "../../control-plane/db/embedded-postgres.ts";
import { applyMigrations } from "../../control-plane/db/migrate.ts";
import type { UsageRecordInput } from "../../data-plane/contracts.ts";
import { insertUsageRecords, refusedByDatabase } from "../../data-plane/usage/insert-usage-records.ts";
import { createUsageWriter, type DropReason } from "../../data-plane/usage/usage-writer.ts";
import { createTestDatabase, type TestDatabase } from "../support/database.ts";

let sequence = 0;
function record(overrides: Partial<UsageRecordInput> = {}): UsageRecordInput {
  const n = ++sequence;
  return {
    requestId: `req-${process.pid}-${n}`,
    userId: null,
    virtualAccountId: null,
    apiKeyId: null,
    modelSlug: "chat-fast",
    providerModelId: null,
    inputTokens: n,
    outputTokens: 2 * n,
    cachedTokens: 0,
    costMicros: BigInt(n) * 1_000n,
    status: 200,
    latencyMs: 120,
    ttfbMs: 40,
    createdAt: new Date(),
    ...overrides,
  };
}

const ids = (records: UsageRecordInput[]) => records.map((r) => r.requestId);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A write function that records batches and can be told to fail or to hang until released. */
function fakeWrite() {
  const batches: UsageRecordInput[][] = [];
  let failuresLeft = 0;
  let gate: Promise<void> | null = null;
  let open = () => undefined as void;
  return {
    batches,
    written: () => batches.flat(),
    failNext(times: number) {
      failuresLeft = times;
    },
    hang() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release() {
      gate = null;
      open();
    },
    attempts: 0,
    async write(records: UsageRecordInput[]) {
      this.attempts++;
      if (gate) await gate;
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error("connection refused");
      }
      batches.push([...records]);
    },
  };
}

describe("usage writer", () => {
  it("writes full batches at batchSize without waiting for the interval", async () => {
    const sink = fakeWrite();
    const writer = createUsageWriter({ write: (r) => sink.write(r), batchSize: 3, flushIntervalMs: 60_000 });
    const records = Array.from({ length: 7 }, () => record());
    for (const r of records) writer.add(r);
    await expect.poll(() => sink.written().length).toBe(7);
    expect(sink.batches.map((batch) => batch.length)).toEqual([3, 3, 1]);
    expect(ids(sink.written())).toEqual(ids(records));
    expect(writer.buffered()).toBe(0);
    await writer.close();
  });

  it("writes a partial batch after flushIntervalMs", async () => {
    const sink = fakeWrite();
    const writer = createUsageWriter({ write: (r) => sink.write(r), flushIntervalMs: 30 });
    writer.add(record());
    writer.add(record());
    expect(sink.batches).toEqual([]);
    expect(writer.buffered()).toBe(2);
    await sleep(100);
    expect(sink.batches.map((batch) => batch.length)).toEqual([2]);
    await writer.close();
  });

  it("rides out an outage: a write failing three times is retried, nothing is lost and order is kept", async () => {
    const sink = fakeWrite();
    const logged: string[] = [];
    const writer = createUsageWriter({ write: (r) => sink.write(r), batchSize: 4, maxBackoffMs: 20, log: (m) => logged.push(m) });
    sink.failNext(3);
    const records = Array.from({ length: 10 }, () => record());
    for (const r of records) writer.add(r);
    await writer.flush();
    expect(ids(sink.written())).toEqual(ids(records));
    expect(sink.attempts).toBe(3 + 3);
    expect(logged).toHaveLength(3);
    expect(writer.dropped()).toBe(0);
    await writer.close();
  });

  it("a record the database refuses is dropped alone; the records around it are written in order", async () => {
    const poisoned = new Set<string>();
    const batches: string[][] = [];
    const logged: string[] = [];
    const drops: [number, string][] = [];
    let outages = 1;
    const writer = createUsageWriter({
      // Like Postgres: a batch holding a refused record fails whole, with a data-exception code; an outage has no code.
      write: async (records) => {
        if (outages-- > 0) throw new Error("connection refused");
        if (records.some((r) => poisoned.has(r.requestId))) throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
        batches.push(ids(records));
      },
      refused: refusedByDatabase,
      batchSize: 8,
      maxBackoffMs: 10,
      log: (line) => logged.push(line),
      onDropped: (count, reason) => drops.push([count, reason]),
    });
    const records = Array.from({ length: 20 }, () => record());
    for (const i of [3, 4, 17]) poisoned.add(records[i]!.requestId);
    for (const r of records) writer.add(r);
    await writer.flush();
    expect(batches.flat()).toEqual(ids(records).filter((id) => !poisoned.has(id)));
    expect(drops).toEqual([[1, "refused"], [1, "refused"], [1, "refused"]]);
    expect(writer.dropped()).toBe(3);
    expect(writer.buffered()).toBe(0);
    expect(logged.filter((line) => line.includes("refuses"))).toHaveLength(3);
    expect(logged.some((line) => line.includes(records[17]!.requestId))).toBe(true);
    // The outage was retried as a whole, not split: only refusals split a batch.
    expect(logged.filter((line) => line.includes("retrying"))).toHaveLength(1);
    await writer.close();
  });

  it("a full buffer drops the oldest queued records and counts them", async () => {
    const sink = fakeWrite();
    const drops: number[] = [];
    const writer = createUsageWriter({ write: (r) => sink.write(r), batchSize: 2, maxBuffered: 5, onDropped: (n) => drops.push(n) });
    sink.hang();
    const records = Array.from({ length: 10 }, () => record());
    for (const r of records) writer.add(r);
    // Records 1–2 are being written; of the rest only the newest three fit.
    expect(writer.buffered()).toBe(5);
    expect(writer.dropped()).toBe(5);
    expect(drops.reduce((sum, n) => sum + n, 0)).toBe(5);
    sink.release();
    await writer.flush();
    expect(ids(sink.written())).toEqual(ids([records[0]!, records[1]!, ...records.slice(7)]));
    await writer.close();
  });

  it("add never blocks or throws, even while writes hang and the drop observer throws", async () => {
    const sink = fakeWrite();
    sink.hang();
    const writer = createUsageWriter({
      write: (r) => sink.write(r),
      batchSize: 10,
      maxBuffered: 100,
      onDropped: () => {
        throw new Error("metrics down");
      },
    });
    const startedAt = performance.now();
    for (let i = 0; i < 50_000; i++) writer.add(record());
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect(writer.buffered()).toBe(100);
    expect(writer.dropped()).toBe(50_000 - 100);
    sink.release();
    await writer.close();
    expect(sink.written()).toHaveLength(100);
  });

  it("close() writes everything still buffered, and later records are dropped", async () => {
    const sink = fakeWrite();
    const writer = createUsageWriter({ write: (r) => sink.write(r), batchSize: 500, flushIntervalMs: 60_000 });
    const records = Array.from({ length: 5 }, () => record());
    for (const r of records) writer.add(r);
    await writer.close();
    expect(ids(sink.written())).toEqual(ids(records));
    writer.add(record());
    expect(writer.dropped()).toBe(1);
    expect(writer.buffered()).toBe(0);
  });

  it("close() gives up at its deadline when the database stays down, counting and telling what is lost", async () => {
    const drops: Array<[number, DropReason]> = [];
    const logged: string[] = [];
    const writer = createUsageWriter({
      write: () => Promise.reject(new Error("connection refused")),
      maxBackoffMs: 20,
      closeTimeoutMs: 150,
      onDropped: (n, reason) => drops.push([n, reason]),
      log: (line) => logged.push(line),
    });
    for (let i = 0; i < 7; i++) writer.add(record());
    const startedAt = performance.now();
    await writer.close();
    expect(performance.now() - startedAt).toBeLessThan(500);
    expect(writer.dropped()).toBe(7);
    // Its own reason, apart from records added after close(): the writer has already said so in its log.
    expect(drops).toEqual([[7, "unwritten"]]);
    expect(logged.filter((line) => line.includes("7 usage records are lost"))).toHaveLength(1);
    writer.add(record());
    expect(drops).toEqual([[7, "unwritten"], [1, "closed"]]);
  });
});

describe("usage writer over Postgres", () => {
  let database: TestDatabase;
  let prisma: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createDb(database.url, 2);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it("writes batches of records with every field intact", async () => {
    const writer = createUsageWriter({ write: insertUsageRecords(prisma.$pool), batchSize: 50 });
    const records = Array.from({ length: 120 }, () => record({ modelSlug: "batched" }));
    for (const r of records) writer.add(r);
    await writer.close();
    const rows = await prisma.usageRecord.findMany({ where: { modelSlug: "batched" }, orderBy: { id: "asc" } });
    expect(rows.map((row) => row.requestId)).toEqual(ids(records));
    const { id: _id, ...first } = rows[0]!;
    expect(first).toEqual(records[0]);
  });

  it("keeps names that mean something in an array literal as they are (quotes, braces, commas, NULL)", async () => {
    const names = ["NULL", "null", 'a"b\\c{d},e', "", " ", "模型 🙂", "ends with \\", '\\"', "tab\there\nnewline", "{}", "'quoted'"];
    const records = names.map((modelSlug) => record({ modelSlug, status: 418 }));
    await insertUsageRecords(prisma.$pool)(records);
    const rows = await prisma.usageRecord.findMany({ where: { requestId: { in: ids(records) } }, orderBy: { id: "asc" } });
    expect(rows.map((row) => row.modelSlug)).toEqual(names);
  });

  it("drops only the record Postgres refuses (a token count past its int column) and writes the rest", async () => {
    const logged: string[] = [];
    const writer = createUsageWriter({ write: insertUsageRecords(prisma.$pool), refused: refusedByDatabase, batchSize: 50, log: (line) => logged.push(line) });
    const records = Array.from({ length: 10 }, () => record({ modelSlug: "refused-one" }));
    records[6] = record({ modelSlug: "refused-one", inputTokens: 2 ** 31 });
    for (const r of records) writer.add(r);
    await writer.close();
    const rows = await prisma.usageRecord.findMany({ where: { modelSlug: "refused-one" }, orderBy: { id: "asc" } });
    expect(rows.map((row) => row.requestId)).toEqual(ids(records.filter((_, i) => i !== 6)));
    expect(writer.dropped()).toBe(1);
    expect(logged).toEqual([expect.stringContaining(`refuses usage record ${records[6]!.requestId}`)]);
  });

  it("writes the record of a user, virtual account and key that have no row (any more): records keep plain ids", async () => {
    const gone = { userId: randomUUID(), virtualAccountId: randomUUID(), apiKeyId: randomUUID() };
    const writer = createUsageWriter({ write: insertUsageRecords(prisma.$pool), refused: refusedByDatabase, batchSize: 50 });
    const records = [record({ modelSlug: "gone-owner" }), record({ modelSlug: "gone-owner", ...gone })];
    for (const r of records) writer.add(r);
    await writer.close();
    const rows = await prisma.usageRecord.findMany({ where: { modelSlug: "gone-owner" }, orderBy: { id: "asc" } });
    expect(rows.map((row) => row.requestId)).toEqual(ids(records));
    expect(rows[1]).toMatchObject(gone);
    expect(writer.dropped()).toBe(0);
  });

  it("never inserts a requestId twice, across batches and across a retried batch whose reply was lost", async () => {
    const write = insertUsageRecords(prisma.$pool);
    let lostReplies = 1;
    const writer = createUsageWriter({
      // The insert commits, then the connection drops before the answer: the writer must retry the same batch.
      write: async (records) => {
        await write(records);
        if (lostReplies-- > 0) throw new Error("connection reset");
      },
      batchSize: 4,
      maxBackoffMs: 10,
      log: () => undefined,
    });
    const records = Array.from({ length: 10 }, () => record({ modelSlug: "deduplicated" }));
    for (const r of records) writer.add(r);
    for (const r of records.slice(0, 3)) writer.add({ ...r, inputTokens: 999 });
    await writer.close();
    const rows = await prisma.usageRecord.findMany({ where: { modelSlug: "deduplicated" }, orderBy: { id: "asc" } });
    expect(rows.map((row) => row.requestId)).toEqual(ids(records));
    expect(rows.every((row) => row.inputTokens !== 999)).toBe(true);
  });
});

describe("usage writer over embedded Postgres (PGlite)", () => {
  it("writes a batch with every field intact, as the default embedded mode does", async () => {
    const home = mkdtempSync(join(tmpdir(), "tollgate-usage-"));
    const embedded = await startEmbeddedPostgres(home);
    const prisma = createDb(embedded.url, 1);
    try {
      await applyMigrations(embedded.url);
      const records = [record({ modelSlug: "embedded" }), record({ modelSlug: "embedded", ttfbMs: null, costMicros: 12_345_678_901n })];
      const more = [record({ modelSlug: "embedded" })];
      // Embedded mode has one connection: Prisma's queries and the usage inserts beside them must take turns on it.
      const [, before] = await Promise.all([insertUsageRecords(prisma.$pool)(records), prisma.usageRecord.count(), insertUsageRecords(prisma.$pool)(more)]);
      expect(before).toBeLessThanOrEqual(3);
      const rows = await prisma.usageRecord.findMany({ where: { modelSlug: "embedded" }, orderBy: { id: "asc" } });
      expect(rows.map(({ id: _id, ...row }) => row)).toEqual([...records, ...more]);
      await prisma.$disconnect();
      expect(prisma.$pool.ended).toBe(true);
    } finally {
      await prisma.$disconnect();
      await embedded.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
