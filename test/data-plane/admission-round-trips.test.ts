// "At most one Redis round trip per request on the admission path" (proof issue), counted: two real gateways admit
// against a redis-server of their own, and MONITOR lists every command a client sends (commands the Lua scripts run
// inside Redis are marked "lua" and left out). Per admitted request: one EVALSHA of the admit script before the
// answer, one of the settle script after it; a refusal: the admit alone; a request without limits: nothing.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIT_SCRIPT, SETTLE_SCRIPT } from "../../data-plane/admission/redis-admit-script.ts";
import { createHash } from "node:crypto";
import { type PrivateRedis, startPrivateRedis } from "../support/private-redis.ts";
import { createMockModel, eventually, memberWithInferenceKey, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

const sha = (script: string) => createHash("sha1").update(script).digest("hex");
const ADMIT_SHA = sha(ADMIT_SCRIPT);
const SETTLE_SHA = sha(SETTLE_SCRIPT);

let own: PrivateRedis;
let monitor: Redis;
let stack: TestStack;
let slug: string;
let modelId: string;
/** Commands clients sent, in order: the command name, plus the script for EVALSHA ("admit" | "settle"). */
const sent: string[] = [];

beforeAll(async () => {
  own = await startPrivateRedis();
  monitor = await own.client.monitor();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    if (source === "lua") return;
    const name = args[0]!.toLowerCase();
    if (name === "evalsha") sent.push(args[1] === ADMIT_SHA ? "admit" : args[1] === SETTLE_SHA ? "settle" : `evalsha ${args[1]}`);
    else sent.push(name);
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

/** Commands sent while `run` runs and until `expected` of them arrived (settles come after the answers). */
async function commandsDuring(run: () => Promise<unknown>, expected: number): Promise<Record<string, number>> {
  await new Promise((r) => setTimeout(r, 300));
  const from = sent.length;
  await run();
  await eventually(async () => expect(sent.length - from).toBeGreaterThanOrEqual(expected), 10_000);
  // Anything sent beyond what is expected would show up here.
  await new Promise((r) => setTimeout(r, 300));
  const counts: Record<string, number> = {};
  for (const name of sent.slice(from)) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

const N = 60;

describe("Redis round trips on the admission path, counted on the wire", () => {
  it(`${N} admitted requests over two gateways, user and key each with requests, tokens and a budget: ${N} admits + ${N} settles, nothing else`, async () => {
    const generous = { rateLimit: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 }, budget: true };
    const secret = await member(generous, generous);
    // Warm-up: each instance sends each script once as EVAL, then only its SHA.
    await commandsDuring(() => Promise.all([post(secret, 0), post(secret, 1)]), 4);
    const counts = await commandsDuring(async () => {
      for (let i = 0; i < N; i += 10) {
        const statuses = await Promise.all(Array.from({ length: 10 }, (_, j) => post(secret, i + j)));
        expect(statuses.every((s) => s === 200)).toBe(true);
      }
    }, 2 * N);
    expect(counts).toEqual({ admit: N, settle: N });
  });

  it("a refused request costs one round trip (the admit) and no settle; a request without limits costs none", async () => {
    const limited = await member({}, { rateLimit: { requestsPerMinute: 2 } });
    const refusals = await commandsDuring(async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await post(limited, i));
      expect(statuses.sort()).toEqual([200, 200, 429, 429, 429]);
    }, 5);
    // Requests-only buckets have nothing to settle: requests stay counted once made.
    expect(refusals).toEqual({ admit: 5 });

    const free = await member({}, {});
    const none = await commandsDuring(async () => {
      for (let i = 0; i < 4; i++) expect(await post(free, i)).toBe(200);
    }, 0);
    expect(none).toEqual({});
  });
});
