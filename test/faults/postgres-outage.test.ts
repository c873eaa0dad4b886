// Postgres goes away under load and comes back, for the control plane and two data-plane instances (both reach it
// through a proxy the test cuts): refused (a restart) and black-holed (a partition: only DATABASE_QUERY_TIMEOUT_MS
// ends the wait). Proves: the data planes keep serving from their snapshots, usage records wait in memory
// (tollgate_usage_records_buffered) and are all written after recovery, one per request; the control plane answers
// with masked errors while the database is gone and works again after; nothing crashes. TOLLGATE_LONG_TESTS=1 serves
// 25 times as many requests during each outage.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../../control-plane/db/client.ts";
import { adminUrl } from "../support/database.ts";
import { startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";
import { addressOf, type CutMode, startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { createMockModel, type Member, member, revokeKey } from "./policy.ts";
import { expectAlive, metric, until, watchUnhandled } from "./probes.ts";

const WORKERS = 4;
/** Requests started during the outage before Postgres comes back. */
const DURING_OUTAGE = process.env.TOLLGATE_LONG_TESTS === "1" ? 600 : 24;
/** Small, so a black-holed database fails queries quickly here (production default: 60 s). */
const QUERY_TIMEOUT = { DATABASE_QUERY_TIMEOUT_MS: "2000" };

type Phase = "up" | "down" | "restored";
interface Shot {
  instance: number;
  stream: boolean;
  startPhase: Phase;
  endPhase: Phase;
  status: number;
  /** The whole body arrived (a stream up to its [DONE]). */
  complete: boolean;
}

let proxy: TcpProxy;
let stack: TestStack;
let direct: Db;
let slug: string;
let modelId: string;
const unhandled = watchUnhandled();

beforeAll(async () => {
  proxy = await startTcpProxy(addressOf(adminUrl, 5432));
  stack = await startTestStack({ instances: 2, postgresPort: proxy.port, env: QUERY_TIMEOUT, controlPlaneEnv: QUERY_TIMEOUT });
  ({ slug, modelId } = await createMockModel(stack));
  direct = createDb(stack.database.url, 1);
}, 60_000);

afterAll(async () => {
  proxy?.restore();
  await direct?.$disconnect();
  await stack?.close();
  await proxy?.close();
  unhandled.stop();
});

let phase: Phase = "up";
let shots: Shot[] = [];

async function shoot(m: Member, instance: number, stream: boolean): Promise<Shot> {
  const startPhase = phase;
  let status = 0;
  let complete = false;
  try {
    const response = await fetch(`${stack.gateways[instance]}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${m.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: slug, stream, max_tokens: 32, messages: [{ role: "user", content: "hello" }] }),
      signal: AbortSignal.timeout(30_000),
    });
    status = response.status;
    const text = await response.text();
    complete = stream ? text.endsWith("data: [DONE]\n\n") : (JSON.parse(text) as { choices?: unknown[] }).choices?.length === 1;
  } catch {
    // status 0: no answer
  }
  const shot = { instance, stream, startPhase, endPhase: phase, status, complete };
  shots.push(shot);
  return shot;
}

function startLoad(m: Member) {
  let running = true;
  let n = 0;
  const loops = Array.from({ length: WORKERS }, async () => {
    while (running) {
      const i = n++;
      await shoot(m, i % 2, i % 4 < 2);
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
  };
}

/** A GraphQL call as the owner, with the raw body (to prove nothing internal leaks into it). */
async function graphql(query: string, variables?: Record<string, unknown>): Promise<{ status: number; raw: string }> {
  const response = await fetch(stack.cp.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${stack.cp.ownerKey}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, raw: await response.text() };
}

const ME = `query { me { id email } }`;
const CREATE_USER = `mutation ($input: CreateUserInput!) { createUser(input: $input) { __typename ... on User { id } ... on Error { code message } } }`;
/** What a masked error must not contain: SQL, driver and Prisma details, addresses, stack frames, file paths. */
const LEAKS = /SELECT|INSERT|UPDATE |"public"\.|prisma|ECONN|terminated|connection|127\.0\.0\.1|5432|\bat .+\(|\.ts:\d|node_modules|stack/i;

describe.each<CutMode>(["refuse", "blackhole"])("a Postgres outage under load (%s)", (mode) => {
  it("the data planes serve from their snapshots, buffer usage and write every record after; the control plane masks its errors", async () => {
    shots = [];
    phase = "up";
    const m = await member(stack, modelId);
    await waitForPolicy(stack);
    const stopLoad = startLoad(m);
    await until(() => shots.length >= 8, "load before the outage");

    phase = "down";
    proxy.cut(mode);
    await until(() => shots.filter((s) => s.startPhase === "down").length >= DURING_OUTAGE, "requests served during the outage", 120_000);
    for (const gateway of stack.gateways) {
      await until(async () => (await metric(gateway, "tollgate_usage_records_buffered")) > 0, `${gateway} buffers usage records`);
      expect((await (await fetch(`${gateway}/readyz`)).json()).status).toBe("ready");
    }
    const answers = await Promise.all([graphql(ME), graphql(CREATE_USER, { input: { email: `during-${mode}@tollgate.test`, name: "Nobody" } })]);
    for (const answer of answers) {
      const body = JSON.parse(answer.raw) as { data?: unknown; errors?: { message: string }[] };
      expect(body.errors?.map((e) => e.message)).toEqual(["Unexpected error."]);
      expect(answer.raw).not.toMatch(LEAKS);
    }

    phase = "restored";
    proxy.restore();
    await until(() => shots.filter((s) => s.startPhase === "restored" && s.status === 200).length >= 8, "requests after the outage");
    await stopLoad();

    // Every request was answered in full, during the outage too.
    expect(shots.filter((s) => s.status !== 200 || !s.complete)).toEqual([]);
    expect(shots.filter((s) => s.startPhase === "down" && s.endPhase === "down").length).toBeGreaterThanOrEqual(DURING_OUTAGE - WORKERS);

    // One usage record per request, all written once Postgres is back, none dropped.
    await until(async () => (await direct.usageRecord.count({ where: { userId: m.userId } })) >= shots.length, `${shots.length} usage records`, 30_000);
    const records = await direct.usageRecord.findMany({ where: { userId: m.userId } });
    expect(records).toHaveLength(shots.length);
    expect(new Set(records.map((r) => r.requestId)).size).toBe(shots.length);
    expect(records.every((r) => r.status === 200 && r.outputTokens === 8 && r.costMicros > 0n)).toBe(true);
    for (const gateway of stack.gateways) {
      expect(await metric(gateway, "tollgate_usage_records_buffered")).toBe(0);
      expect(await metric(gateway, "tollgate_usage_records_dropped")).toBe(0);
    }

    // The control plane works again, and its changes reach both data planes (bus and snapshot sync recovered).
    await until(async () => (await graphql(ME)).raw.includes(`"email":"owner@tollgate.test"`), "the control plane answers again");
    await revokeKey(stack, m.keyId);
    for (const instance of [0, 1]) await until(async () => (await shoot(m, instance, false)).status === 401, `the revoke on instance ${instance}`);

    await expectAlive(stack.gateways);
    expect(unhandled.errors).toEqual([]);
  }, 240_000);
});
