// A control plane (the real server, schema and Prisma client) that also records every SQL statement Prisma sends, so
// the control-plane section can count what one request costs; the numbers are timed against control-plane/main.ts.
//   node --import tsx test/bench/counting-control-plane.ts   (configured like main.ts; prints both URLs when ready)
//   GET <statements URL>?from=N → {"count": total so far, "statements": [the SQL from N on], "durations": [ms Prisma reported]}
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createDb } from "../../control-plane/db/client.ts";
import { createChangeBus } from "../../control-plane/events/pubsub.ts";
import { loadCredentialKey } from "../../control-plane/runtime/credential-key.ts";
import { createControlPlaneServer } from "../../control-plane/server.ts";
import { loadConfig } from "../../shared/config.ts";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";

const config = loadConfig();
if (!config.DATABASE_URL) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}
const statements: string[] = [];
const durations: number[] = [];
const prisma = createDb(config.DATABASE_URL, config.DATABASE_POOL_SIZE, {
  onQuery: (sql, ms) => {
    statements.push(sql);
    durations.push(ms);
  },
});
const bus = createChangeBus(config.REDIS_URL, config.CHANGE_BUS_CHANNEL);
const controlPlane = createControlPlaneServer({ prisma, bus, cipher: createCredentialCipher(loadCredentialKey(config)), config });
const url = await controlPlane.listen(0, "127.0.0.1");
const side = createServer((req, res) => {
  const from = Number(new URL(req.url ?? "/", "http://x").searchParams.get("from") ?? statements.length);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ count: statements.length, statements: statements.slice(from), durations: durations.slice(from) }));
});
await new Promise<void>((resolve) => side.listen(0, "127.0.0.1", resolve));
console.log(`counting control plane ready: ${url} http://127.0.0.1:${(side.address() as AddressInfo).port}/statements`);
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
