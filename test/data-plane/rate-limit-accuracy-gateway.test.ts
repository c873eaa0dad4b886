// The 1 s column of the rate-limit accuracy matrix in real time, through the whole product: a per-second limit set with
// GraphQL, enforced by two real data-plane instances sharing Redis, offered open-loop over HTTP at a fixed rate.
// `npm test` runs 5/s at 0.9× and 10×; TOLLGATE_LONG_TESTS=1 runs every cell (limits 5 and 100, 0.9×, 1×, 10×) for
// 10 s each. The simulated-clock matrix (rate-limit-accuracy.test.ts) covers both windows exactly; this one shows the
// wiring and what a real clock, real latency and a loaded machine do to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMockModel, memberWithInferenceKey, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

const LONG = process.env.TOLLGATE_LONG_TESTS === "1";
const SECONDS = LONG ? 10 : 5;

let stack: TestStack;
let slug: string;
let modelId: string;
const table: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({ instances: 2 });
  ({ slug, modelId } = await createMockModel(stack));
}, 60_000);

afterAll(async () => {
  await stack?.close();
  console.log(["| limit/s | load | seconds | sent | 200 | 429 | allowed ÷ (limit × seconds) | pass rate |", "|---|---|---|---|---|---|---|---|", ...table].join("\n"));
});

async function limitedMember(requestsPerSecond: number): Promise<string> {
  const member = await memberWithInferenceKey(stack);
  await stack.cp.ok(`mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename } }`, { input: { modelId, subject: { userId: member.userId } } });
  await stack.cp.ok(`mutation ($u: ID!, $n: Int!) { setRateLimit(input: { subject: { userId: $u }, requestsPerSecond: $n }) { __typename } }`, {
    u: member.userId,
    n: requestsPerSecond,
  });
  await waitForPolicy(stack);
  return member.secret;
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

function post(secret: string, instance: number): Promise<Answer> {
  return fetch(`${stack.gateways[instance]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model: slug, max_tokens: 8, messages: [{ role: "user", content: "hi" }] }),
  }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.text() }));
}

/** Open loop: request i leaves at start + i / rate seconds whatever the answers, alternating between the instances. */
async function offer(secret: string, perSecond: number, seconds: number): Promise<Answer[]> {
  const count = Math.round(perSecond * seconds);
  const spacing = 1000 / perSecond;
  const start = performance.now() + 20;
  const answers: Promise<Answer>[] = [];
  while (answers.length < count) {
    while (answers.length < count && start + answers.length * spacing <= performance.now()) answers.push(post(secret, answers.length % 2));
    if (answers.length < count) await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + answers.length * spacing - performance.now())));
  }
  return Promise.all(answers);
}

const CELLS: { limit: number; load: number }[] = LONG
  ? [5, 100].flatMap((limit) => [0.9, 1, 10].map((load) => ({ limit, load })))
  : [
      { limit: 5, load: 0.9 },
      { limit: 5, load: 10 },
    ];

describe("rate-limit accuracy in real time: a per-second limit through two gateways", () => {
  it("warms both gateways up (connections, scripts) before anything is measured", async () => {
    const secret = await limitedMember(1_000);
    const answers = await offer(secret, 50, 0.5);
    expect(answers.every((a) => a.status === 200)).toBe(true);
  });

  // The short cells run side by side (they are light); the long ones, up to 1,000 requests a second, one at a time.
  const cell = LONG ? it : it.concurrent;
  for (const { limit, load } of CELLS) {
    cell(`${limit}/s at ${load}× the limit for ${SECONDS} s`, async () => {
      const secret = await limitedMember(limit);
      const answers = await offer(secret, limit * load, SECONDS);
      const allowed = answers.filter((a) => a.status === 200).length;
      const limited = answers.filter((a) => a.status === 429);
      table.push(
        `| ${limit} | ${load}× | ${SECONDS} | ${answers.length} | ${allowed} | ${limited.length} | ${(allowed / (limit * SECONDS)).toFixed(3)} | ${(allowed / answers.length).toFixed(3)} |`,
      );
      // Every answer is a 200 or a well-formed 429 naming the per-second limit.
      expect(allowed + limited.length).toBe(answers.length);
      for (const refusal of limited.slice(0, 3)) {
        expect(JSON.parse(refusal.body)).toMatchObject({ error: "rate_limited", message: expect.stringContaining(`${limit} requests per second`) });
        expect(refusal.headers.get("retry-after")).toBe("1");
        expect(refusal.headers.get("x-ratelimit-limit-requests")).toBe(String(limit));
        expect(refusal.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      }
      if (load < 1) expect(allowed / answers.length).toBeGreaterThanOrEqual(0.99);
      else {
        expect(allowed / (limit * SECONDS)).toBeGreaterThanOrEqual(0.95);
        expect(allowed / (limit * SECONDS)).toBeLessThanOrEqual(1.05);
      }
    }, 60_000);
  }
});
