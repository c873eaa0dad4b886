// The log lines of dropped usage records: the first at once, then sums, so an outage cannot flood the log.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { UsageRecordInput } from "../../data-plane/contracts.ts";
import { createDropLog } from "../../data-plane/usage/drop-log.ts";
import { createUsageWriter } from "../../data-plane/usage/usage-writer.ts";

let lines: string[];
const record = (requestId: string): UsageRecordInput => ({
  requestId,
  userId: null,
  virtualAccountId: null,
  apiKeyId: null,
  modelSlug: "m",
  providerModelId: null,
  inputTokens: 1,
  outputTokens: 1,
  cachedTokens: 0,
  costMicros: 1n,
  status: 200,
  latencyMs: 1,
  ttfbMs: 1,
  createdAt: new Date(),
});
beforeEach(() => {
  lines = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("drop log", () => {
  it("logs the first drop at once, then one sum per reason and interval, and nothing for a quiet interval", () => {
    const dropLog = createDropLog((line) => lines.push(line), 10_000);
    dropLog.dropped(1, "buffer_full");
    expect(lines).toEqual(["usage writer dropped 1 record (buffer full); further drops are summed, a line every 10 s at most"]);
    for (let i = 0; i < 999; i++) {
      dropLog.dropped(1, "buffer_full");
      vi.advanceTimersByTime(10);
    }
    // 9,990 ms have passed: nothing more yet.
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(10);
    expect(lines[1]).toBe("usage writer dropped 999 records (buffer full) in the last 10 s");
    dropLog.dropped(3, "closed");
    dropLog.dropped(2, "buffer_full");
    vi.advanceTimersByTime(10_000);
    expect(lines.slice(2)).toEqual([
      "usage writer dropped 3 records (closed) in the last 10 s",
      "usage writer dropped 2 records (buffer full) in the last 10 s",
    ]);
    // A quiet interval ends the summing: the next drop is told at once again.
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(4);
    dropLog.dropped(5, "buffer_full");
    expect(lines[4]).toBe("usage writer dropped 5 records (buffer full); further drops are summed, a line every 10 s at most");
  });

  it("tells what is left at close, at once", () => {
    const dropLog = createDropLog((line) => lines.push(line), 10_000);
    dropLog.dropped(1, "buffer_full");
    dropLog.dropped(41, "buffer_full");
    dropLog.close();
    expect(lines[1]).toBe("usage writer dropped 41 records (buffer full)");
    vi.advanceTimersByTime(20_000);
    expect(lines).toHaveLength(2);
  });

  it("adds nothing to what the writer tells itself: a refused record, and what close() gave up on", async () => {
    const dropLog = createDropLog((line) => lines.push(line), 10_000);
    const writer = createUsageWriter({
      write: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
      maxBackoffMs: 20,
      closeTimeoutMs: 150,
      log: (line) => lines.push(line),
      onDropped: (count, reason) => dropLog.dropped(count, reason),
    });
    for (let i = 0; i < 4; i++) writer.add(record(`r-${i}`));
    const closed = writer.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    dropLog.dropped(1, "refused");
    dropLog.close();
    expect(lines.filter((line) => !line.includes("retrying"))).toEqual(["closing with the database unreachable: 4 usage records are lost"]);
  });

  it("keeps a writer whose database is away to a few lines while it drops thousands of records", async () => {
    const dropLog = createDropLog((line) => lines.push(line), 10_000);
    let dropped = 0;
    const writer = createUsageWriter({
      write: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
      maxBuffered: 100,
      log: () => {},
      onDropped: (count, reason) => {
        dropped += count;
        dropLog.dropped(count, reason);
      },
    });
    for (let second = 0; second < 30; second++) {
      for (let i = 0; i < 100; i++) writer.add(record(`r-${second}-${i}`));
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(dropped).toBe(30 * 100 - 100);
    // Drops start in the second second (the buffer holds the first 100): told at once, then summed at 11 s and 21 s.
    expect(lines).toHaveLength(3);
    const told = lines.map((line) => Number(/dropped (\d+) record/.exec(line)![1])).reduce((a, b) => a + b, 0);
    dropLog.close();
    const atClose = lines.slice(3).map((line) => Number(/dropped (\d+) record/.exec(line)![1])).reduce((a, b) => a + b, 0);
    expect(told + atClose).toBe(dropped);
  });
});
