// startSnapshotSync against a real control plane: committed changes reach current() through the change bus,
// missed events are caught by the version check, and a database outage keeps the last snapshot serving.
import { randomBytes } from "node:crypto";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { createChangeBus, type ChangeBus } from "../../control-plane/events/pubsub.ts";
import { issueApiKey } from "../../control-plane/keys/issue-api-key.ts";
import type { Snapshot } from "../../data-plane/contracts.ts";
import { startSnapshotSync, type SnapshotSync } from "../../data-plane/snapshot/index.ts";
import { hashApiKey } from "../../shared/api-key-format.ts";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";
import { sleep, until } from "../support/poll.ts";

let cp: TestControlPlane;
let sync: SnapshotSync;
const closers: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  cp = await startTestControlPlane();
  // A version check far in the future: whatever arrives during these tests arrived through the bus.
  sync = startSnapshotSync({ prisma: cp.prisma, cipher: cp.cipher, bus: cp.bus, reconcileMs: 600_000, log: () => undefined });
  await sync.ready;
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await sync?.stop();
  await cp?.close();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;


const ERRORS = `... on Error { code message }`;
const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on CreatedApiKey { secret apiKey { id } } ${ERRORS} } }`;
const REVOKE_KEY = `mutation ($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKey { status } ${ERRORS} } }`;
const CREATE_MODEL = `mutation ($input: CreateModelInput!) { createModel(input: $input) { __typename ... on Model { id slug } ${ERRORS} } }`;
const GRANT = `mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename ... on ModelGrant { id } ${ERRORS} } }`;

async function createKeyFor(userId: string) {
  const { createApiKey } = await cp.ok(CREATE_KEY, { input: { userId, name: unique("key"), scopes: ["INFERENCE"] } });
  expect(createApiKey.__typename).toBe("CreatedApiKey");
  return { id: createApiKey.apiKey.id as string, hash: hashApiKey(createApiKey.secret) };
}

/** A change written with the bus bypassed: a key straight into the table and a policy version bump in SQL. */
async function keyBehindTheBusBack(prisma: Db = cp.prisma) {
  const user = await prisma.user.create({ data: { email: `${unique("quiet")}@example.com`, name: "Quiet" } });
  const { key } = await prisma.$transaction((tx) => issueApiKey(tx, { owner: { userId: user.id }, name: "k", scopes: ["inference"] }));
  await prisma.$executeRaw`UPDATE "PolicyVersion" SET "version" = "version" + 1, "updatedAt" = now() WHERE "id" = 1`;
  return key;
}

function privateBus(): ChangeBus {
  const bus = createChangeBus(undefined, unique("snapshot-sync-test"));
  closers.push(() => bus.close());
  return bus;
}

function startSync(options: { prisma?: Db; bus?: ChangeBus; reconcileMs: number; logs?: string[]; onSwap?: (snapshot: Snapshot) => void }) {
  const started = startSnapshotSync({
    prisma: options.prisma ?? cp.prisma,
    cipher: cp.cipher,
    bus: options.bus ?? privateBus(),
    reconcileMs: options.reconcileMs,
    log: (line) => options.logs?.push(line),
    onSwap: options.onSwap,
  });
  closers.push(() => started.stop());
  return started;
}

describe("startSnapshotSync: changes through the control plane", () => {
  it("a key created through the control plane appears, and disappears within 2 s of revokeApiKey", async () => {
    const member = await cp.userWithKey("MEMBER");
    const key = await createKeyFor(member.id);
    await until(() => sync.current().keysByHash.has(key.hash), "the new key is served", 2_000);
    const { revokeApiKey } = await cp.ok(REVOKE_KEY, { id: key.id });
    expect(revokeApiKey.status).toBe("REVOKED");
    const revokedAt = Date.now();
    await until(() => !sync.current().keysByHash.has(key.hash), "the revoked key is gone", 2_000);
    expect(Date.now() - revokedAt).toBeLessThan(2_000);
    // The revocation is taken from its event before the re-read that applies it; the snapshot's version follows.
    const stored = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    await until(() => sync.current().version === stored.version, "the snapshot reaches the revocation's version", 2_000);
    expect(sync.current().keysByHash.has(key.hash)).toBe(false);
  });

  it("granting a model to a user adds it to the user's principal entry", async () => {
    const member = await cp.userWithKey("MEMBER");
    const { createModel } = await cp.ok(CREATE_MODEL, { input: { slug: unique("chat"), displayName: "Chat" } });
    const ownerKey = () => sync.current().keysByHash.get(hashApiKey(member.secret));
    // The member and key were written without an event; the model creation's event brings them in.
    await until(() => ownerKey() !== undefined && sync.current().modelsBySlug.has(createModel.slug), "the owner key and the new model are served", 2_000);
    expect(ownerKey()!.principal.models.has(createModel.slug)).toBe(false);
    const { grantModel } = await cp.ok(GRANT, { input: { modelId: createModel.id, subject: { userId: member.id } } });
    expect(grantModel.__typename).toBe("ModelGrant");
    await until(() => ownerKey()?.principal.models.get(createModel.slug) !== undefined, "the grant reaches the owner key", 2_000);
    expect(ownerKey()!.principal.models.get(createModel.slug)).toEqual([]);
  });

  it("a burst of change events is coalesced into one rebuild that reaches the latest version", async () => {
    const bus = privateBus();
    let swaps = 0;
    const burst = startSync({ bus, reconcileMs: 600_000, onSwap: () => (swaps += 1) });
    await burst.ready;
    await cp.prisma.$executeRaw`UPDATE "PolicyVersion" SET "version" = "version" + 20 WHERE "id" = 1`;
    const { version: last } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    swaps = 0;
    for (let v = last - 19n; v <= last; v++) {
      bus.publish({ kind: "GROUP", action: "group.update", targetType: "Group", targetId: "x", version: v.toString(), at: new Date().toISOString(), auditId: "0" });
    }
    await until(() => burst.current().version === last, "the burst's last version is served", 2_000);
    await sleep(200);
    expect(swaps).toBeLessThanOrEqual(2);
  });

  it("stop() ends the subscription: the bus closes at once and later events build nothing", async () => {
    const bus = createChangeBus(undefined, unique("snapshot-sync-stop"));
    let swaps = 0;
    const stopping = startSnapshotSync({ prisma: cp.prisma, cipher: cp.cipher, bus, reconcileMs: 50, onSwap: () => (swaps += 1) });
    await stopping.ready;
    await stopping.stop();
    const closing = Date.now();
    // close() waits up to 2 s for open subscriptions: returning at once means the iterator was returned.
    await bus.close();
    expect(Date.now() - closing).toBeLessThan(500);
    const before = swaps;
    await keyBehindTheBusBack();
    await sleep(200);
    expect(swaps).toBe(before);
  });
});

describe("startSnapshotSync: missed events and outages", () => {
  it("a change made with the bus bypassed is caught by the periodic version check", async () => {
    const quiet = startSync({ reconcileMs: 100 });
    await quiet.ready;
    const key = await keyBehindTheBusBack();
    await until(() => quiet.current().keysByHash.has(key.hash), "the version check finds the key", 2_000);
  });

  it("while Postgres is unreachable the old snapshot keeps serving, the outage is logged once, and the sync recovers", async () => {
    const { proxy, proxied } = await proxiedDatabase();
    const bus = privateBus();
    const logs: string[] = [];
    const flaky = startSync({ prisma: proxied, bus, reconcileMs: 100, logs });
    await flaky.ready;
    const before = await keyBehindTheBusBack();
    await until(() => flaky.current().keysByHash.has(before.hash), "the key made before the outage is served", 2_000);
    const served = flaky.current();

    await proxy.cut();
    const during = await keyBehindTheBusBack();
    const { version } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    bus.publish({ kind: "API_KEY", action: "apiKey.create", targetType: "ApiKey", targetId: during.id, version: version.toString(), at: new Date().toISOString(), auditId: "0" });
    await expect(flaky.refresh()).rejects.toThrow();
    await sleep(500);
    expect(flaky.current()).toBe(served);
    expect(logs.filter((line) => line.includes("failed"))).toHaveLength(1);

    await proxy.restore();
    await until(() => flaky.current().keysByHash.has(during.hash), "the key made during the outage is served", 3_000);
    expect(flaky.current().keysByHash.has(before.hash)).toBe(true);
    expect(logs.at(-1)).toContain("answers again");
  });

  it("a key revoked while this instance cannot reach Postgres is refused as soon as the revocation's event arrives", async () => {
    const { proxy, proxied } = await proxiedDatabase();
    const cutOff = startSync({ prisma: proxied, bus: cp.bus, reconcileMs: 600_000 });
    await cutOff.ready;
    const member = await cp.userWithKey("MEMBER");
    const [revoked, kept] = [await createKeyFor(member.id), await createKeyFor(member.id)];
    await until(() => cutOff.current().keysByHash.has(revoked.hash) && cutOff.current().keysByHash.has(kept.hash), "both keys are served", 2_000);

    await proxy.cut();
    const { revokeApiKey } = await cp.ok(REVOKE_KEY, { id: revoked.id });
    expect(revokeApiKey.status).toBe("REVOKED");
    await until(() => !cutOff.current().keysByHash.has(revoked.hash), "the revoked key is refused without a read", 2_000);
    expect(cutOff.current().keysByHash.has(kept.hash)).toBe(true);

    // Once the database answers again, the rebuild reads the revocation itself and the key stays refused.
    await proxy.restore();
    const { version } = await cp.prisma.policyVersion.findUniqueOrThrow({ where: { id: 1 } });
    await cutOff.refresh();
    expect(cutOff.current().version).toBeGreaterThanOrEqual(version);
    expect(cutOff.current().keysByHash.has(revoked.hash)).toBe(false);
    expect(cutOff.current().keysByHash.has(kept.hash)).toBe(true);
  });

  it("a build that hangs (the database never answers) is abandoned after buildTimeoutMs, so later builds still run", async () => {
    const hole = await startBlackHole();
    const url = new URL(cp.database.url);
    url.port = String(hole.port);
    const hanging = createDb(url.toString(), 4);
    closers.push(() => hanging.$disconnect());
    closers.push(() => hole.close());
    const logs: string[] = [];
    const stuck = startSnapshotSync({ prisma: hanging, cipher: cp.cipher, bus: privateBus(), reconcileMs: 600_000, buildTimeoutMs: 200, log: (line) => logs.push(line) });
    closers.push(() => stuck.stop());
    // Were the first build still holding the single flight, these would never settle.
    await expect(stuck.refresh()).rejects.toThrow(/longer than 200 ms/);
    await expect(stuck.refresh()).rejects.toThrow(/longer than 200 ms/);
    expect(stuck.current().version).toBe(-1n);
    expect(logs).toHaveLength(1);
  });

  it("a sync that never reaches Postgres serves an empty snapshot, and stop() rejects ready", async () => {
    const closed = await unusedPort();
    const url = new URL(cp.database.url);
    url.port = String(closed);
    const unreachable = createDb(url.toString(), 1);
    closers.push(() => unreachable.$disconnect());
    const logs: string[] = [];
    const never = startSync({ prisma: unreachable, reconcileMs: 50, logs });
    await sleep(300);
    expect(never.current().keysByHash.size).toBe(0);
    expect(never.current().version).toBe(-1n);
    expect(logs).toHaveLength(1);
    await never.stop();
    await expect(never.ready).rejects.toThrow(/stopped before the first snapshot/);
  });
});

/** A server that accepts connections and never answers: a database behind a black-holed network. */
async function startBlackHole() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Prisma client that reaches the test database through a TCP relay the test can cut and restore. */
async function proxiedDatabase() {
  const proxy = await startTcpProxy(new URL(cp.database.url));
  closers.push(() => proxy.cut());
  const url = new URL(cp.database.url);
  url.port = String(proxy.port);
  const proxied = createDb(url.toString(), 2);
  closers.push(() => proxied.$disconnect());
  return { proxy, proxied };
}

/** A TCP relay in front of Postgres whose connections can be cut and whose port can be reopened. */
async function startTcpProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("error", drop).on("close", drop);
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();
  return {
    port,
    restore: listen,
    async cut() {
      for (const socket of sockets) socket.destroy();
      const closing = server;
      server = null;
      if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
  };
}

async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
