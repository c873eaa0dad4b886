// A TCP relay in front of a shared server (Redis, Postgres) that a test can cut and restore, to stage an outage for
// the processes behind it without touching the server everyone else's tests are using.
import net, { type AddressInfo } from "node:net";

/**
 * refuse:    every connection is reset, and new ones are reset as they arrive (the server is down or restarting);
 * blackhole: connections stay open (new ones are accepted) but no byte passes either way (a network partition);
 *            restore() delivers what was held, as TCP would once the partition heals.
 */
export type CutMode = "refuse" | "blackhole";

export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's (redis://…, postgresql://…). */
  urlFor(url: string): string;
  cut(mode?: CutMode): void;
  restore(): void;
  /** Connection pairs currently open through the proxy. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes held while black-holed, per direction, in arrival order. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let state: "open" | CutMode = "open";
  const pairs = new Set<Pair>();

  const forward = (to: net.Socket, held: Buffer[]) => (data: Buffer) => {
    if (state === "blackhole") held.push(data);
    else if (!to.destroyed) to.write(data);
  };

  const server = net.createServer((client) => {
    if (state === "refuse") {
      client.on("error", () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    const pair: Pair = { client, upstream, toUpstream: [], toClient: [] };
    pairs.add(pair);
    const drop = () => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", forward(upstream, pair.toUpstream));
    upstream.on("data", forward(client, pair.toClient));
    // A half-close passes through like the bytes before it (held while black-holed).
    client.on("end", () => (state === "blackhole" ? pair.toUpstream.push(END) : upstream.end()));
    upstream.on("end", () => (state === "blackhole" ? pair.toClient.push(END) : client.end()));
    for (const socket of [client, upstream]) socket.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.toString();
    },
    cut(mode = "refuse") {
      state = mode;
      if (mode !== "refuse") return;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream.destroy();
      }
    },
    restore() {
      state = "open";
      for (const pair of pairs) {
        flush(pair.toUpstream, pair.upstream);
        flush(pair.toClient, pair.client);
      }
    },
    connections: () => pairs.size,
    async close() {
      state = "refuse";
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Marks a half-close held while black-holed. */
const END = Buffer.alloc(0);

function flush(held: Buffer[], to: net.Socket): void {
  for (const data of held.splice(0)) {
    if (to.destroyed) return;
    if (data === END) to.end();
    else to.write(data);
  }
}

/** host and port of a redis:// or postgresql:// URL. */
export function addressOf(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || defaultPort) };
}
