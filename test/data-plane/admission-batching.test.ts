import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { batchArguments, batchedScript, packCall } from "../../data-plane/admission/batched-script.ts";
import { createScriptBatcher } from "../../data-plane/admission/script-batcher.ts";
import { redisUrl } from "../support/database.ts";

describe("batched script", () => {
  let redis: Redis;
  const prefix = `tollgate-test:${randomBytes(6).toString("hex")}:`;
  // A script of the admission scripts' shape: reads KEYS and ARGV, writes, ends in a return.
  const single = "local total = redis.call('INCRBY', KEYS[1], ARGV[1])\nreturn { total, #KEYS, #ARGV, ARGV[#ARGV] }";
  const script = batchedScript(single);

  beforeAll(() => {
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it("runs the one-request script once per call, in order, each run seeing the writes before it", async () => {
    const calls = [
      { keys: [`${prefix}a`], args: [5, "first"] },
      { keys: [`${prefix}a`, `${prefix}b`], args: [2, "x", "second"] },
      { keys: [`${prefix}b`], args: [7, "third"] },
      { keys: [`${prefix}a`], args: [1, "fourth"] },
    ];
    const { numKeys, keysAndArgs } = batchArguments(calls.map(packCall));
    const replies = await redis.eval(script, numKeys, ...keysAndArgs);
    expect(replies).toEqual([
      [5, 1, 2, "first"],
      [7, 2, 3, "second"],
      [7, 1, 2, "third"],
      [8, 1, 2, "fourth"],
    ]);
  });
});

describe("script batcher", () => {
  function recordingRun(fail = false) {
    const batches: { numKeys: number; keysAndArgs: (string | number)[] }[] = [];
    return {
      batches,
      run: async (numKeys: number, keysAndArgs: (string | number)[]) => {
        batches.push({ numKeys, keysAndArgs });
        if (fail) throw new Error("redis is gone");
        const n = Number(keysAndArgs[numKeys]);
        // Reply with each call's first arg, unpacked from its place after the batch header, as the Lua wrapper would.
        const replies: unknown[] = [];
        for (let r = 0; r < n; r++) replies.push(String(keysAndArgs[numKeys + 1 + n + r]).split(" ")[0]);
        return replies;
      },
    };
  }

  it("sends the calls of one turn as one batch and gives each caller its own reply", async () => {
    const rec = recordingRun();
    const batcher = createScriptBatcher({ run: rec.run });
    const replies = await Promise.all([batcher.call(["k1"], ["one", 1]), batcher.call(["k2", "k3"], ["two"]), batcher.call([], ["three", 3, 3])]);
    expect(replies).toEqual(["one", "two", "three"]);
    expect(rec.batches).toHaveLength(1);
    expect(rec.batches[0]!.numKeys).toBe(3);
  });

  it("a lone call goes out in the same turn's check phase, and later turns make their own batches", async () => {
    const rec = recordingRun();
    const batcher = createScriptBatcher({ run: rec.run });
    expect(await batcher.call(["k"], ["a"])).toBe("a");
    expect(await batcher.call(["k"], ["b"])).toBe("b");
    expect(rec.batches).toHaveLength(2);
  });

  it("with lingerMs, calls of several turns within the linger share one batch", async () => {
    const rec = recordingRun();
    const batcher = createScriptBatcher({ run: rec.run, lingerMs: 30 });
    const first = batcher.call(["k"], ["a"]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.call(["k"], ["b"]);
    expect(rec.batches).toHaveLength(0);
    expect(await Promise.all([first, second])).toEqual(["a", "b"]);
    expect(rec.batches).toHaveLength(1);
  });

  it("a call whose args would not survive packing (empty, or holding a space) fails alone; the rest of its turn is sent", async () => {
    const rec = recordingRun();
    const batcher = createScriptBatcher({ run: rec.run });
    const results = await Promise.allSettled([
      batcher.call(["k"], ["a", 1]),
      batcher.call(["k"], ["two words"]),
      batcher.call(["k"], [""]),
      batcher.call(["k"], ["d"]),
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : "rejected"))).toEqual(["a", "rejected", "rejected", "d"]);
    expect(rec.batches).toHaveLength(1);
    expect(rec.batches[0]!.keysAndArgs).toEqual(["k", "k", 2, 1, 1, "a 1", "d"]);
  });

  it("splits at maxCalls", async () => {
    const rec = recordingRun();
    const batcher = createScriptBatcher({ run: rec.run, maxCalls: 2 });
    const replies = await Promise.all(["a", "b", "c", "d", "e"].map((arg) => batcher.call(["k"], [arg])));
    expect(replies).toEqual(["a", "b", "c", "d", "e"]);
    expect(rec.batches.map((b) => b.keysAndArgs[b.numKeys])).toEqual([2, 2, 1]);
  });

  it("a failed batch rejects every call in it, and the next batch still runs", async () => {
    const failing = recordingRun(true);
    const batcher = createScriptBatcher({ run: failing.run });
    const results = await Promise.allSettled([batcher.call(["k"], ["a"]), batcher.call(["k"], ["b"])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(failing.batches).toHaveLength(1);
    await expect(batcher.call(["k"], ["c"])).rejects.toThrow("redis is gone");
    expect(failing.batches).toHaveLength(2);
  });
});
