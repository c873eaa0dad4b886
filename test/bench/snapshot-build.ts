// Snapshot build in a process of its own: one cold build (fresh process, JIT and pool cold), then warm builds, and the
// memory the built snapshot holds; prints JSON. DATABASE_URL and TOLLGATE_SECRET_KEY come from the environment.
//   node --import tsx test/bench/snapshot-build.ts --warm 4 --changes 20
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createDb } from "../../control-plane/db/client.ts";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import { buildSnapshotState } from "../../data-plane/snapshot/build-snapshot.ts";
import { loadPolicyRows } from "../../data-plane/snapshot/load-policy-rows.ts";
import { applyChanges } from "../../data-plane/snapshot/snapshot-changes.ts";
import { createCredentialCipher } from "../../shared/credential-cipher.ts";

export interface SnapshotBuildResult {
  coldMs: number;
  warmMs: number[];
  /** Reading the rows alone (the database's share of a warm build). */
  loadMs: number[];
  /** Applying one change event about one user (snapshot-changes.ts) to the built snapshot, instead of a rebuild. */
  changeMs: number[];
  keys: number;
  principals: number;
  /** Growth from the connected, idle process to the process holding one built snapshot and its index (after a full GC). */
  heapGrowthBytes: number;
  rssGrowthBytes: number;
  /** Peak RSS during the cold build over the idle process's RSS. */
  peakRssGrowthBytes: number;
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const settle = () => {
  gc();
  gc();
  return process.memoryUsage();
};

const { values } = parseArgs({ options: { warm: { type: "string", default: "4" }, changes: { type: "string", default: "20" } } });
const url = process.env.DATABASE_URL;
const secret = process.env.TOLLGATE_SECRET_KEY;
if (!url || !secret) {
  console.error("DATABASE_URL and TOLLGATE_SECRET_KEY are required");
  process.exit(2);
}
const prisma = createDb(url, 1);
const cipher = createCredentialCipher(Buffer.from(secret, "hex"));
const quiet = () => undefined;
await prisma.$queryRaw`SELECT 1`;

const idle = settle();
let t0 = performance.now();
let state = await buildSnapshotState(prisma, cipher, { log: quiet });
const coldMs = performance.now() - t0;
const peakRss = process.resourceUsage().maxRSS * 1024;
const held = settle();
const result: SnapshotBuildResult = {
  coldMs,
  warmMs: [],
  loadMs: [],
  changeMs: [],
  keys: state.snapshot.keysByHash.size,
  principals: state.index.principals.size,
  heapGrowthBytes: held.heapUsed - idle.heapUsed,
  rssGrowthBytes: held.rss - idle.rss,
  peakRssGrowthBytes: peakRss - idle.rss,
};
for (let i = 0; i < Number(values.warm); i++) {
  t0 = performance.now();
  state = await buildSnapshotState(prisma, cipher, { log: quiet });
  result.warmMs.push(performance.now() - t0);
  t0 = performance.now();
  await loadPolicyRows(prisma);
  result.loadMs.push(performance.now() - t0);
}
const users = [...state.index.principals.values()].filter((p) => p.kind === "user");
for (let i = 0; i < Number(values.changes); i++) {
  const user = users[Math.floor((i * users.length) / Number(values.changes))]!;
  const event: ChangeEvent = { kind: "USER", action: "user.update", targetType: "User", targetId: user.id, version: state.snapshot.version.toString(), at: "", auditId: "0" };
  t0 = performance.now();
  const next = await applyChanges(prisma, state.snapshot, state.index, [event], quiet);
  result.changeMs.push(performance.now() - t0);
  if (!next) throw new Error("the change was not applied incrementally");
}
await prisma.$disconnect();
process.stdout.write(`${JSON.stringify(result)}\n`);
