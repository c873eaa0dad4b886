// "At most one Redis round trip per request on the admission path" (proof issue), counted: two real gateways admit
// against a redis-server of their own, and MONITOR lists every command a client sends (commands the Lua scripts run
// inside Redis are marked "lua" and left out). Per admitted request: a place in one EVALSHA of the admit script before
// the answer, and in one of the settle script after it (requests of one event-loop turn share an EVALSHA, see
// data-plane/admission/script-batcher.ts); a refusal: the admit alone; a request without limits: nothing. Requests
// whose limits allow quota leases (data-plane/admission/admission-leases.ts) take fewer: most are admitted in process.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIT_MANY_SCRIPT, SETTLE_MANY_SCRIPT } from "../../data-plane/admission/redis-admit-script.ts";
import { createHash } from "node:crypto";
import { metric } from "../faults/probes.ts";
import { type PrivateRedis, startPrivateRedis } from "../support/private-redis.ts";
import { createMockModel, eventually, memberWithInferenceKey, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

const sha = (script: string) => createHash("sha1").update(script).digest("hex");
const ADMIT_SHA = sha(ADMIT_MANY_SCRIPT);
const SETTLE_SHA = sha(SETTLE_MANY_SCRIPT);

let own: PrivateRedis;
let monitor: Redis;
let stack: TestStack;
let slug: string;
let modelId: string;
/** Commands clients sent, in order: the command name ("admit" | "settle" for the scripts) and the requests it carried. */
const sent: { name: string; requests: number }[] = [];

beforeAll(async () => {
  own = await startPrivateRedis();
  monitor = await own.client.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua") return;
    const name = args[0]!.toLowerCase();
    if (name !== "evalsha" && name !== "eval") return void sent.push({ name, requests: 1 });
    // A batch's ARGV[1] is how many requests it carries (batched-script.ts).
    const requests = Number(args[3 + Number(args[2])]);
    const script = name === "eval" ? sha(args[1]!) : args[1];
    sent.push({ name: script === ADMIT_SHA ? "admit" : script === SETTLE_SHA ? "settle" : `${name} ${script}`, requests });
  });
  // Admission on the private Redis; the change bus stays on the shared one (startTestStack's).
  stack = await startTestStack({ instances: 2, env: { REDIS_URL: own.url } });
  ({ slug, modelId } = await createMockModel(stack));
}, 60_000);

afterAll(async () => {
  await stack?.close();
  monitor?.disconnect();
  await own?.stop();
});

interface Limits {
  rateLimit?: Record<string, number>;
  /** A daily budget of $100 for the user, a monthly one for the key. */
  budget?: boolean;
}

async function member(user: Limits, key: Limits): Promise<string> {
  const m = await memberWithInferenceKey(stack);
  await stack.cp.ok(`mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename } }`, { input: { modelId, subject: { userId: m.userId } } });
  if (user.rateLimit) await stack.cp.ok(`mutation ($input: SetRateLimitInput!) { setRateLimit(input: $input) { __typename } }`, { input: { subject: { userId: m.userId }, ...user.rateLimit } });
  if (user.budget) await stack.cp.ok(`mutation ($u: ID!) { setBudget(input: { subject: { userId: $u }, period: DAILY, cap: "100" }) { __typename } }`, { u: m.userId });
  if (key.rateLimit || key.budget) {
    await stack.cp.ok(`mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { __typename } }`, {
      input: { id: m.keyId, rateLimit: key.rateLimit ?? null, budgets: key.budget ? [{ period: "MONTHLY", cap: "100" }] : [] },
    });
  }
  await waitForPolicy(stack);
  return m.secret;
}

const post = (secret: string, i: number) =>
  fetch(`${stack.gateways[i % 2]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model: slug, max_tokens: 16, messages: [{ role: "user", content: "count" }] }),
  }).then(async (r) => (await r.text(), r.status));

/**
 * Requests carried per command name while `run` runs and until `expected` requests were carried (settles come after
 * the answers), and how many commands carried them.
 */
async function commandsDuring(run: () => Promise<unknown>, expected: number): Promise<{ requests: Record<string, number>; commands: number }> {
  await new Promise((r) => setTimeout(r, 300));
  const from = sent.length;
  const carried = () => sent.slice(from).reduce((sum, c) => sum + c.requests, 0);
  await run();
  await eventually(async () => expect(carried()).toBeGreaterThanOrEqual(expected), 10_000);
  // Anything sent beyond what is expected would show up here.
  await new Promise((r) => setTimeout(r, 300));
  const requests: Record<string, number> = {};
  for (const c of sent.slice(from)) requests[c.name] = (requests[c.name] ?? 0) + c.requests;
  return { requests, commands: sent.length - from };
}

const N = 60;

describe("Redis round trips on the admission path, counted on the wire", () => {
  it(`${N} admitted requests over two gateways, user and key each with requests, tokens and a budget: ${N} admits + ${N} settles, nothing else`, async () => {
    // A per-second limit keeps every request out of leases: each one is counted by its own admit.
    const generous = { rateLimit: { requestsPerMinute: 100_000, requestsPerSecond: 10_000, tokensPerMinute: 100_000_000 }, budget: true };
    const secret = await member(generous, generous);
    // Warm-up: each instance sends each script once as EVAL, then only its SHA.
    await commandsDuring(() => Promise.all([post(secret, 0), post(secret, 1)]), 4);
    const { requests, commands } = await commandsDuring(async () => {
      for (let i = 0; i < N; i += 10) {
        const statuses = await Promise.all(Array.from({ length: 10 }, (_, j) => post(secret, i + j)));
        expect(statuses.every((s) => s === 200)).toBe(true);
      }
    }, 2 * N);
    expect(requests).toEqual({ admit: N, settle: N });
    // Each request rode in exactly one admit and one settle; concurrent ones shared them.
    expect(commands).toBeLessThanOrEqual(2 * N);
  });

  it(`${N} admitted requests with limits leases serve: far fewer admits than requests, and no more settles than admitted requests`, async () => {
    const generous = { rateLimit: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 }, budget: true };
    const secret = await member(generous, generous);
    await commandsDuring(() => Promise.all([post(secret, 0), post(secret, 1)]), 2);
    const leaseAdmits = () => Promise.all(stack.gateways.map((g) => metric(g, "tollgate_admission_lease_admits_total"))).then((v) => v[0]! + v[1]!);
    const leasedBefore = await leaseAdmits();
    const from = sent.length;
    for (let i = 0; i < N; i += 10) {
      const statuses = await Promise.all(Array.from({ length: 10 }, (_, j) => post(secret, i + j)));
      expect(statuses.every((s) => s === 200)).toBe(true);
    }
    // The leases' last corrections go out within their 20 ms linger once their second ends.
    await new Promise((r) => setTimeout(r, 1_500));
    const names = new Set(sent.slice(from).map((c) => c.name));
    expect([...names].every((name) => name === "admit" || name === "settle")).toBe(true);
    const admits = sent.slice(from).filter((c) => c.name === "admit");
    const settles = sent.slice(from).filter((c) => c.name === "settle");
    // A lease doubles each time it runs out within its second: a handful of admits per gateway and second.
    expect(admits.length).toBeLessThanOrEqual(N / 3);
    // Every request not counted by an admit of its own came from a lease, and the metric says so.
    const carriedByAdmits = admits.reduce((sum, c) => sum + c.requests, 0);
    expect((await leaseAdmits()) - leasedBefore).toBe(N - carriedByAdmits);
    expect(settles.length).toBeGreaterThan(0);
    expect(settles.length).toBeLessThanOrEqual(N);
  });

  it("a refused request costs one round trip (the admit) and no settle; a request without limits costs none", async () => {
    const limited = await member({}, { rateLimit: { requestsPerMinute: 2 } });
    const refusals = await commandsDuring(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await post(limited, i));
      expect(statuses.sort()).toEqual([200, 200, 429, 429, 429]);
    }, 5);
    // Requests-only buckets have nothing to settle: requests stay counted once made.
    expect(refusals.requests).toEqual({ admit: 5 });

    const free = await member({}, {});
    const none = await commandsDuring(async () => {
      for (let i = 0; i < 4; i++) expect(await post(free, i)).toBe(200);
    }, 0);
    expect(none).toEqual({ requests: {}, commands: 0 });
  });
});
