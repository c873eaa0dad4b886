// Fuzz of the GraphQL API: random operations walked from control-plane/schema.graphql (wrong-typed, out-of-range,
// missing and unknown arguments, variables of the wrong type) plus malformed documents, sent by an admin to a real
// control plane on a throwaway database. No 5xx, no masked "Unexpected error.", no stack trace or SQL in any answer,
// only documented error codes. TOLLGATE_LONG_TESTS=1 sends 10× more; TOLLGATE_FUZZ_SEED=<n> replays a run.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { buildSchema } from "graphql";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";
import { testCredential } from "../support/secret-scan.ts";
import { judgeGraphQL } from "./fuzz/graphql-oracle.ts";
import { malformedDocuments } from "./fuzz/malformed-documents.ts";
import { type GeneratedOperation, operations } from "./fuzz/operation-generator.ts";

const LONG = process.env.TOLLGATE_LONG_TESTS === "1";
const CASES = LONG ? 20_000 : 1_500;
const CONCURRENCY = 8;
const SEED = Number(process.env.TOLLGATE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const schema = buildSchema(readFileSync(new URL("../../control-plane/schema.graphql", import.meta.url), "utf8"));

let cp: TestControlPlane;
let adminKey: string;
const ids: string[] = [];

beforeAll(async () => {
  cp = await startTestControlPlane();
  // An admin, not the owner: a fuzzed mutation may disable or revoke what it finds, and the fuzz must keep its key.
  adminKey = (await cp.userWithKey("ADMIN", { scopes: ["admin"] })).secret;
  const made = await cp.ok(
    `mutation ($credentials: String!) {
      u: createUser(input: { email: "fuzz-member@tollgate.test", name: "Member" }) { ... on User { id } }
      g: createGroup(input: { name: "fuzz group" }) { ... on Group { id } }
      p: createProvider(input: { name: "fuzz provider", kind: "openai", baseUrl: "http://127.0.0.1:9/v1", credentials: $credentials }) { ... on Provider { id } }
      m: createModel(input: { slug: "fuzz-model", displayName: "Fuzz" }) { ... on Model { id } }
      v: createVirtualAccount(input: { name: "fuzz app" }) { ... on VirtualAccount { id } }
    }`,
    { credentials: testCredential("graphql-fuzz") },
  );
  for (const value of Object.values(made)) ids.push((value as { id: string }).id);
  const { addProviderModel } = await cp.ok(`mutation ($p: ID!) { addProviderModel(input: { providerId: $p, upstreamName: "up", inputPricePerMTok: "1", outputPricePerMTok: "2" }) { ... on ProviderModel { id } } }`, { p: made.p.id });
  const { createApiKey } = await cp.ok(`mutation ($u: ID!) { createApiKey(input: { name: "k", userId: $u, scopes: [INFERENCE] }) { ... on CreatedApiKey { apiKey { id } } } }`, { u: made.u.id });
  ids.push(addProviderModel.id, createApiKey.apiKey.id);
}, 120_000);
afterAll(async () => {
  await cp?.close();
});

interface Sent {
  label: string;
  body: string;
  headers?: Record<string, string>;
}

async function post(sent: Sent): Promise<{ status: number; text: string }> {
  const response = await fetch(cp.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/graphql-response+json, application/json", authorization: `Bearer ${adminKey}`, ...sent.headers },
    body: sent.body,
    // A request that never ends (a subscription held open over plain POST, say) is a failure, not a hang.
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, text: await response.text() };
}

it(`answers ${CASES} random and malformed GraphQL operations without a 5xx, a masked error or an undocumented code`, async () => {
  const generated = fc.sample(operations(schema, ids), { numRuns: CASES, seed: SEED });
  const junk = fc.sample(malformedDocuments(), { numRuns: Math.ceil(CASES / 10), seed: SEED });
  const cases: Sent[] = [
    ...generated.map((op: GeneratedOperation) => ({ label: op.root, body: JSON.stringify({ query: op.query, variables: op.variables }) })),
    ...junk,
  ];
  const failures = new Map<string, string>();
  const codes = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length) {
        const sent = cases[next++]!;
        const answer = await post(sent);
        const verdict = judgeGraphQL(answer.status, answer.text);
        for (const code of verdict.codes) codes.set(code, (codes.get(code) ?? 0) + 1);
        if (verdict.problem !== null && !failures.has(`${sent.label} ${verdict.problem.slice(0, 40)}`)) {
          failures.set(`${sent.label} ${verdict.problem.slice(0, 40)}`, `${verdict.problem}\n    sent: ${sent.body.slice(0, 600)}`);
        }
      }
    }),
  );
  console.log(`GraphQL fuzz, seed ${SEED}: ${cases.length} requests; codes ${[...codes].map(([c, n]) => `${c}×${n}`).join(" ")}`);
  expect([...failures.values()].slice(0, 20), `seed ${SEED}`).toEqual([]);
  // The API still works for the admin afterwards (nothing the fuzz did locked it out or broke the server).
  expect((await cp.as(adminKey).ok("{ me { id } }")).me.id).toEqual(expect.any(String));
}, LONG ? 3_600_000 : 240_000);
