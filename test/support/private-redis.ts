// A redis-server child process of our own (no persistence, a free port): INFO commandstats then counts only our
// commands, and it can be stopped without touching the shared Redis other tests use.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { Redis } from "ioredis";

export interface PrivateRedis {
  url: string;
  port: number;
  /** A plain client for reading counters and INFO. */
  client: Redis;
  /** `INFO commandstats` as { command: { calls, usec } } (lower-case names, e.g. "evalsha", "hmget"). */
  commandStats(): Promise<Record<string, { calls: number; usec: number }>>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(port: number, child: ChildProcess, deadline: number): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      probe.disconnect();
    }
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  child.on("error", () => undefined);
  try {
    await answers(port, child, Date.now() + 10_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  const client = new Redis(port, "127.0.0.1");
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client,
    async commandStats() {
      const stats: Record<string, { calls: number; usec: number }> = {};
      for (const line of (await client.info("commandstats")).split("\n")) {
        const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
        if (match) stats[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
      }
      return stats;
    },
    async stop() {
      client.disconnect();
      if (child.exitCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      await exited;
    },
  };
}
