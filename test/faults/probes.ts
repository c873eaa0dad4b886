// What the fault suites check from outside a data-plane instance: that it still answers, what its metrics say, and
// that nothing in this (test) process went unhandled; plus cleanup of the Redis counters a suite left behind.
import { Redis } from "ioredis";
import { expect } from "vitest";
import { redisUrl } from "../support/database.ts";

/** Every instance answers /healthz: the process is up and its event loop turns. */
export async function expectAlive(gateways: readonly string[]): Promise<void> {
  for (const gateway of gateways) {
    const response = await fetch(`${gateway}/healthz`, { signal: AbortSignal.timeout(10_000) });
    expect(response.status, `${gateway}/healthz`).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  }
}

/** Sum of the samples of metric `name` whose labels include `labels` (0 when there are none). */
export async function metric(gateway: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) continue;
    const labelText = line[name.length] === "{" ? line.slice(name.length + 1, line.indexOf("}")) : "";
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * Collects unhandled rejections and uncaught exceptions of this process while a suite runs (vitest reports them too;
 * this makes "nothing went unhandled" an assertion of the suite itself).
 */
export function watchUnhandled(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onError = (error: unknown) => errors.push(error);
  process.on("unhandledRejection", onError);
  process.on("uncaughtException", onError);
  return {
    errors,
    stop() {
      process.off("unhandledRejection", onError);
      process.off("uncaughtException", onError);
    },
  };
}

/** A client on the real Redis, for reading counters. */
export function inspectRedis(): Redis {
  return new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix` (budget counters would otherwise stay until their window ends). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}

export { sleep, until } from "../support/poll.ts";
