// End to end, the paths most likely to leak a secret: keys created, rotated and revoked, an invite accepted, provider
// credentials set and replaced, upstream calls failing (refused credentials, a dead provider), unknown and mangled keys
// presented in both headers. Afterwards no plaintext key or credential may be in the database, the audit log (table and
// API), what either plane logged, or any GraphQL answer except the one that hands a new secret out.
import { mintApiKey } from "../../shared/api-key-format.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scanDatabase } from "../support/database-secret-scan.ts";
import { findSecrets, type Leak, rememberCredential, testCredential } from "../support/secret-scan.ts";
import { createMockModel, memberWithInferenceKey, STACK_PROVIDER_CREDENTIAL, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

/** Every GraphQL answer, as text; `handedOut` are the secrets this answer was meant to return (shown once). */
const answers: { label: string; text: string; handedOut: string[] }[] = [];

async function gql(label: string, query: string, variables?: Record<string, unknown>, handedOut: (data: any) => string[] = () => []) {
  const result = await stack.cp.gql(query, variables);
  if (result.errors?.length) throw new Error(`${label}: ${JSON.stringify(result.errors)}`);
  answers.push({ label, text: JSON.stringify(result), handedOut: handedOut(result.data) });
  return result.data as any;
}

async function infer(gateway: string, headers: Record<string, string>, model: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
  return { status: response.status, text: await response.text() };
}

it("leaves no plaintext key or provider credential in the database, the audit log, the logs or GraphQL answers", async () => {
  const { cp } = stack;
  const gateway = stack.gateways[0]!;
  const { slug, providerId } = await createMockModel(stack);
  const member = await memberWithInferenceKey(stack);
  const { me } = await gql("me", "{ me { id } }");
  const { modelBySlug } = await gql("model", `query ($s: String!) { modelBySlug(slug: $s) { id } }`, { s: slug });
  await gql("grant to member", `mutation ($m: ID!, $u: ID!) { grantModel(input: { modelId: $m, subject: { userId: $u } }) { ... on ModelGrant { id } } }`, { m: modelBySlug.id, u: member.userId });

  // Provider credentials: replaced twice with ones the mock refuses (so upstream calls fail with its 401), then restored.
  const refused = [testCredential("refused-1"), testCredential("refused-2")];
  for (const credentials of refused) {
    await gql("update credentials", `mutation ($id: ID!, $c: String) { updateProvider(input: { id: $id, credentials: $c }) { ... on Provider { hasCredentials credentialsLast4 } } }`, { id: providerId, c: credentials });
    await waitForPolicy(stack);
    const failed = await infer(gateway, { authorization: `Bearer ${member.secret}` }, slug);
    expect(failed.status).toBe(401);
    answers.push({ label: "upstream 401 relayed to the client", text: failed.text, handedOut: [] });
  }
  // A second provider whose address nothing listens on: the connect error is logged.
  const dead = await gql(
    "dead provider",
    `mutation ($c: String!) { createProvider(input: { name: "dead", kind: "openai", baseUrl: "http://127.0.0.1:9/v1", credentials: $c }) { ... on Provider { id } } }`,
    { c: testCredential("dead") },
  );
  const deadModel = await gql("dead model", `mutation { createModel(input: { slug: "dead-model", displayName: "Dead" }) { ... on Model { id } } }`);
  const deadPm = await gql("dead pm", `mutation ($p: ID!) { addProviderModel(input: { providerId: $p, upstreamName: "x", inputPricePerMTok: "1", outputPricePerMTok: "1" }) { ... on ProviderModel { id } } }`, { p: dead.createProvider.id });
  await gql("dead route", `mutation ($m: ID!, $pm: ID!) { addModelRoute(input: { modelId: $m, providerModelId: $pm }) { ... on Model { id } } }`, { m: deadModel.createModel.id, pm: deadPm.addProviderModel.id });
  await gql("dead grant", `mutation ($m: ID!, $u: ID!) { grantModel(input: { modelId: $m, subject: { userId: $u } }) { ... on ModelGrant { id } } }`, { m: deadModel.createModel.id, u: member.userId });
  await gql("restore credentials", `mutation ($id: ID!, $c: String) { updateProvider(input: { id: $id, credentials: $c }) { ... on Provider { id } } }`, { id: providerId, c: STACK_PROVIDER_CREDENTIAL });
  await waitForPolicy(stack);
  expect((await infer(gateway, { authorization: `Bearer ${member.secret}` }, "dead-model")).status).toBeGreaterThanOrEqual(500);
  expect((await infer(gateway, { "x-api-key": member.secret }, slug)).status).toBe(200);

  // Keys: created (a user's and a virtual account's), rotated with and without grace, revoked; an invite accepted.
  const created = await gql(
    "create key",
    `mutation ($u: ID!) { createApiKey(input: { name: "laptop", userId: $u }) { ... on CreatedApiKey { secret apiKey { id prefix } } } }`,
    { u: me.id },
    (d) => [d.createApiKey.secret],
  );
  const rotated = await gql(
    "rotate key",
    `mutation ($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodSeconds: 60 }) { ... on CreatedApiKey { secret apiKey { id } } } }`,
    { id: created.createApiKey.apiKey.id },
    (d) => [d.rotateApiKey.secret],
  );
  const rotatedAgain = await gql(
    "rotate key at once",
    `mutation ($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodSeconds: 0 }) { ... on CreatedApiKey { secret apiKey { id } } } }`,
    { id: rotated.rotateApiKey.apiKey.id },
    (d) => [d.rotateApiKey.secret],
  );
  await gql("revoke key", `mutation ($id: ID!) { revokeApiKey(id: $id) { ... on ApiKey { status } } }`, { id: rotatedAgain.rotateApiKey.apiKey.id });
  await gql("revoke member key", `mutation ($id: ID!) { revokeApiKey(id: $id) { ... on ApiKey { status } } }`, { id: member.keyId });
  const va = await gql("virtual account", `mutation { createVirtualAccount(input: { name: "batch job" }) { ... on VirtualAccount { id } } }`);
  const vaKey = await gql(
    "va key",
    `mutation ($v: ID!) { createApiKey(input: { name: "job", virtualAccountId: $v }) { ... on CreatedApiKey { secret } } }`,
    { v: va.createVirtualAccount.id },
    (d) => [d.createApiKey.secret],
  );
  const invited = await gql("invite", `mutation { inviteUsers(input: { emails: ["newcomer@tollgate.test"], role: MEMBER }) { ... on InviteUsersResult { invites { acceptUrl } } } }`, undefined, (d) => [
    new URL(d.inviteUsers.invites[0].acceptUrl).searchParams.get("token")!,
  ]);
  const token = new URL(invited.inviteUsers.invites[0].acceptUrl).searchParams.get("token")!;
  // Not a key or credential, but a secret the scan should find wherever it leaks.
  rememberCredential(token);
  const accepted = await stack.cp.as(null).gql(`mutation ($t: String!) { acceptInvite(input: { token: $t }) { ... on AcceptedInvite { secret } ... on Error { code } } }`, { t: token });
  answers.push({ label: "accept invite", text: JSON.stringify(accepted), handedOut: [(accepted.data as any).acceptInvite.secret] });
  await waitForPolicy(stack);

  // Keys that must not work, in both headers: revoked, rotated away at once, unknown, mangled, and a valid one under the
  // wrong scheme. (The first key, rotated with a grace period, still works: it is not among them.)
  const unknown = mintApiKey("user").secret;
  const mangled = `${vaKey.createApiKey.secret.slice(0, -1)}${vaKey.createApiKey.secret.endsWith("A") ? "B" : "A"}`;
  for (const bad of [member.secret, rotated.rotateApiKey.secret, rotatedAgain.rotateApiKey.secret, unknown, mangled, vaKey.createApiKey.secret]) {
    const presented: Record<string, string>[] = [{ authorization: `Bearer ${bad}` }, { "x-api-key": bad }, { authorization: `Basic ${bad}` }];
    for (const headers of bad === vaKey.createApiKey.secret ? presented.slice(2) : presented) {
      const answer = await infer(gateway, headers, slug);
      expect(answer.status).toBe(401);
      expect(findSecrets(answer.text, "answer")).toEqual([]);
    }
  }
  const audit = await gql("audit log", "{ auditEvents(first: 200) { edges { node { action before after } } } }");
  const actions = new Set(audit.auditEvents.edges.map((e: any) => e.node.action));
  for (const action of ["provider.create", "provider.update", "apiKey.create", "apiKey.rotate", "apiKey.revoke", "invite.accept"]) expect(actions).toContain(action);

  // The scan: every place a secret could end up. GraphQL answers may hold only the secret they hand out.
  const leaks: Leak[] = [
    ...(await scanDatabase(cp.database.url, cp.database.name)),
    ...cp.logs.leaks(),
    ...stack.dataPlaneLogs.flatMap((logs) => logs.leaks()),
    ...answers.flatMap((a) => findSecrets(a.handedOut.reduce((text, secret) => text.replaceAll(secret, "<handed out>"), a.text), `GraphQL answer "${a.label}"`)),
  ];
  expect(leaks).toEqual([]);
  // And the scan is looking: the secrets used above are ones it recognises.
  for (const secret of [...refused, member.secret, vaKey.createApiKey.secret, unknown, token]) expect(findSecrets(` ${secret} `, "check")).toHaveLength(1);
  expect(stack.dataPlaneLogs[0]!.lines.length + cp.logs.lines.length).toBeGreaterThan(0);
}, 120_000);
