// The data plane's idle collection: a heap a burst grew is given back once nothing is in flight, and only then.
import { getHeapStatistics } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { type IdleCollection, startIdleCollection } from "../../data-plane/runtime/idle-collection.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Collected {
  before: number;
  after: number;
  pauseMs: number;
}

/** Objects kept alive over several turns (so V8 promotes them to old space, as a burst's buffered records are), then dropped. */
async function burstGarbage(megabytes: number): Promise<void> {
  const held: { id: number; text: string }[][] = [];
  for (let chunk = 0; chunk < megabytes; chunk++) {
    held.push(Array.from({ length: 10_000 }, (_, i) => ({ id: i, text: `record ${chunk}-${i}` })));
    if (chunk % 8 === 0) await sleep(1);
  }
}

let running: IdleCollection | null = null;
afterEach(() => {
  running?.stop();
  running = null;
});

function collections(options: { idleMs: number; inFlight: () => number }) {
  const seen: Collected[] = [];
  running = startIdleCollection({ ...options, growthBytes: 8 * MiB, onCollect: (before, after, pauseMs) => seen.push({ before, after, pauseMs }) });
  return seen;
}

async function until(done: () => boolean, ms: number): Promise<void> {
  for (const giveUpAt = Date.now() + ms; !done() && Date.now() < giveUpAt; ) await sleep(20);
}

describe("idle collection", () => {
  it("gives a burst's heap back once the process is idle", async () => {
    const seen = collections({ idleMs: 300, inFlight: () => 0 });
    const start = getHeapStatistics().total_heap_size;
    await burstGarbage(64);
    const grown = getHeapStatistics().total_heap_size;
    expect(grown - start).toBeGreaterThan(32 * MiB);

    await until(() => seen.length > 0, 10_000);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.before - seen[0]!.after).toBeGreaterThan(32 * MiB);
    expect(getHeapStatistics().total_heap_size).toBeLessThan(grown - 32 * MiB);

    // Nothing grew since: no second collection.
    await sleep(800);
    expect(seen).toHaveLength(1);
  });

  it("waits while a request is in flight, since a pause would hold up its chunks", async () => {
    let inFlight = 1;
    const seen = collections({ idleMs: 200, inFlight: () => inFlight });
    await burstGarbage(48);
    await sleep(1_200);
    expect(seen).toHaveLength(0);

    inFlight = 0;
    await until(() => seen.length > 0, 10_000);
    expect(seen).toHaveLength(1);
  });

  it("waits while the process is busy", async () => {
    const seen = collections({ idleMs: 200, inFlight: () => 0 });
    await burstGarbage(48);
    // Busy for 1.2 s in 5 ms slices: the loop still runs the collection's timer, which must see the work.
    for (const busyUntil = Date.now() + 1_200; Date.now() < busyUntil; ) {
      for (const sliceEnd = Date.now() + 5; Date.now() < sliceEnd; );
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(seen).toHaveLength(0);
    await until(() => seen.length > 0, 10_000);
    expect(seen).toHaveLength(1);
  });

  it("leaves no gc function for other code to find", () => {
    running = startIdleCollection({ idleMs: 1_000, inFlight: () => 0 });
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    expect(runInNewContext("typeof gc")).toBe("undefined");
  });
});
