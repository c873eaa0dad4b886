import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

// Every field of Provider and its models, so a leak anywhere in the type would show.
const PROVIDER_FIELDS = /* GraphQL */ `
  id name kind baseUrl status hasCredentials credentialsLast4 settings createdAt updatedAt
  models { id upstreamName inputPricePerMTok outputPricePerMTok cachedInputPricePerMTok createdAt updatedAt provider { id name } routes { id } }`;

const RESULT = (fields: string) => /* GraphQL */ `
  __typename
  ... on Error { code message }
  ... on ValidationError { issues { path message } }
  ... on ConflictError { field }
  ... on NotFoundError { entity missingId: id }
  ${fields}`;

const CREATE = `mutation ($input: CreateProviderInput!) { createProvider(input: $input) { ${RESULT(`... on Provider { ${PROVIDER_FIELDS} }`)} } }`;
const UPDATE = `mutation ($input: UpdateProviderInput!) { updateProvider(input: $input) { ${RESULT(`... on Provider { ${PROVIDER_FIELDS} }`)} } }`;
const ADD_MODEL = `mutation ($input: AddProviderModelInput!) { addProviderModel(input: $input) { ${RESULT(
  "... on ProviderModel { id upstreamName inputPricePerMTok outputPricePerMTok cachedInputPricePerMTok provider { id } }",
)} } }`;

const MISSING = "00000000-0000-4000-8000-000000000000";

async function createProvider(input: Record<string, unknown>) {
  const { createProvider: provider } = await cp.ok(CREATE, {
    input: { kind: "openai", baseUrl: "https://api.openai.com/v1", ...input },
  });
  expect(provider.__typename).toBe("Provider");
  return provider;
}

async function auditFor(targetId: string) {
  return cp.prisma.auditEvent.findMany({ where: { targetId }, orderBy: { id: "asc" } });
}

async function counts() {
  return { providers: await cp.prisma.provider.count(), models: await cp.prisma.providerModel.count(), audit: await cp.prisma.auditEvent.count() };
}

describe("providers", () => {
  it("stores credentials encrypted and never returns or audits the secret", async () => {
    const secret = "sk-live-abcdefghijklmnop1234WXYZ";
    const provider = await createProvider({ name: "OpenAI prod", credentials: secret, settings: { organization: "org-1" } });
    expect(provider).toMatchObject({
      name: "OpenAI prod",
      kind: "openai",
      status: "ACTIVE",
      hasCredentials: true,
      credentialsLast4: "WXYZ",
      settings: { organization: "org-1" },
    });

    const read = await cp.ok(`query ($id: ID!) { provider(id: $id) { ${PROVIDER_FIELDS} } providers { edges { node { ${PROVIDER_FIELDS} } } } }`, { id: provider.id });
    expect(read.provider.id).toBe(provider.id);
    expect(JSON.stringify(read)).not.toContain(secret);
    expect(JSON.stringify(provider)).not.toContain(secret);

    const audit = await auditFor(provider.id);
    expect(audit.map((a) => a.action)).toEqual(["provider.create"]);
    expect(audit[0]!.after).toMatchObject({ name: "OpenAI prod", credentials: "set" });
    const allAudit = await cp.prisma.auditEvent.findMany();
    expect(JSON.stringify(allAudit, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(secret);

    const row = await cp.prisma.provider.findUniqueOrThrow({ where: { id: provider.id } });
    expect(Buffer.from(row.credentialsCiphertext!).toString("utf8")).not.toContain(secret);
    expect(Buffer.from(row.credentialsCiphertext!).toString("latin1")).not.toContain(secret);
    expect(cp.cipher.decrypt(row.credentialsCiphertext!)).toBe(secret);
  });

  it("shows no last 4 characters of a short secret but still reports that credentials are set", async () => {
    const provider = await createProvider({ name: "Short key", credentials: "abc12345" });
    expect(provider).toMatchObject({ hasCredentials: true, credentialsLast4: null });
    const none = await createProvider({ name: "No key", kind: "openai-compatible", baseUrl: "http://127.0.0.1:11434/v1" });
    expect(none).toMatchObject({ hasCredentials: false, credentialsLast4: null });
    expect((await auditFor(none.id))[0]!.after).toMatchObject({ credentials: "none" });
  });

  it("keeps omitted credentials, replaces given ones and clears null ones, auditing only what happened", async () => {
    const first = "first-secret-value-0001";
    const second = "second-secret-value-0002";
    const provider = await createProvider({ name: "Rotating", credentials: first });

    const renamed = await cp.ok(UPDATE, { input: { id: provider.id, name: "Rotating renamed" } });
    expect(renamed.updateProvider).toMatchObject({ name: "Rotating renamed", hasCredentials: true, credentialsLast4: "0001" });

    const rotated = await cp.ok(UPDATE, { input: { id: provider.id, credentials: second } });
    expect(rotated.updateProvider).toMatchObject({ hasCredentials: true, credentialsLast4: "0002" });
    const row = await cp.prisma.provider.findUniqueOrThrow({ where: { id: provider.id } });
    expect(cp.cipher.decrypt(row.credentialsCiphertext!)).toBe(second);

    const cleared = await cp.ok(UPDATE, { input: { id: provider.id, credentials: null } });
    expect(cleared.updateProvider).toMatchObject({ hasCredentials: false, credentialsLast4: null });
    expect((await cp.prisma.provider.findUniqueOrThrow({ where: { id: provider.id } })).credentialsCiphertext).toBeNull();

    const audit = await auditFor(provider.id);
    expect(audit.map((a) => [a.action, (a.after as { credentials: string }).credentials])).toEqual([
      ["provider.create", "set"],
      ["provider.update", "unchanged"],
      ["provider.update", "set"],
      ["provider.update", "cleared"],
    ]);
    expect(audit[1]).toMatchObject({ before: { name: "Rotating" }, after: { name: "Rotating renamed" } });
    const text = JSON.stringify(audit, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    expect(text).not.toContain(first);
    expect(text).not.toContain(second);
  });

  it("refuses an unknown kind, a non-http base URL, empty credentials and secrets in settings with VALIDATION, changing nothing", async () => {
    const before = await counts();
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: "cohere" }, "kind"],
      [{ baseUrl: "ftp://files.example.com" }, "baseUrl"],
      [{ baseUrl: "not a url" }, "baseUrl"],
      [{ credentials: "   " }, "credentials"],
      [{ settings: { apiKey: "sk-hidden" } }, "settings"],
      [{ settings: [1, 2] }, "settings"],
    ];
    for (const [input, path] of cases) {
      const { createProvider } = await cp.ok(CREATE, { input: { name: "Invalid", kind: "openai", baseUrl: "https://x.test", ...input } });
      expect(createProvider.__typename).toBe("ValidationError");
      expect(createProvider.code).toBe("VALIDATION");
      expect(createProvider.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const tooLong = `sk-${"q".repeat(9000)}`;
    const refused = await cp.ok(CREATE, { input: { name: "Invalid", kind: "openai", baseUrl: "https://x.test", credentials: tooLong } });
    expect(refused.createProvider.issues).toEqual([{ path: "credentials", message: expect.any(String) }]);
    expect(JSON.stringify(refused)).not.toContain("sk-q");
    expect(await counts()).toEqual(before);

    const provider = await createProvider({ name: "Valid kind" });
    const afterCreate = await counts();
    const { updateProvider } = await cp.ok(UPDATE, { input: { id: provider.id, kind: "bedrock" } });
    expect(updateProvider).toMatchObject({ __typename: "ValidationError", issues: [{ path: "kind" }] });
    expect(await counts()).toEqual(afterCreate);
  });

  it("refuses a duplicate provider name with CONFLICT on the name field", async () => {
    await createProvider({ name: "Anthropic main", kind: "anthropic", baseUrl: "https://api.anthropic.com" });
    const other = await createProvider({ name: "Anthropic backup", kind: "anthropic", baseUrl: "https://api.anthropic.com" });
    const before = await counts();
    const { createProvider: dup } = await cp.ok(CREATE, { input: { name: "Anthropic main", kind: "anthropic", baseUrl: "https://api.anthropic.com" } });
    expect(dup).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "name" });
    const { updateProvider: rename } = await cp.ok(UPDATE, { input: { id: other.id, name: "Anthropic main" } });
    expect(rename).toMatchObject({ __typename: "ConflictError", field: "name" });
    expect(await counts()).toEqual(before);
  });

  it("deactivates and reactivates a provider, auditing each", async () => {
    const provider = await createProvider({ name: "Toggle" });
    const off = await cp.ok(`mutation ($id: ID!) { deactivateProvider(id: $id) { ${RESULT("... on Provider { status }")} } }`, { id: provider.id });
    expect(off.deactivateProvider).toEqual({ __typename: "Provider", status: "INACTIVE" });
    const on = await cp.ok(`mutation ($id: ID!) { activateProvider(id: $id) { ${RESULT("... on Provider { status }")} } }`, { id: provider.id });
    expect(on.activateProvider).toEqual({ __typename: "Provider", status: "ACTIVE" });
    const audit = await auditFor(provider.id);
    expect(audit.map((a) => [a.action, a.before, a.after])).toEqual([
      ["provider.create", null, expect.anything()],
      ["provider.deactivate", { status: "ACTIVE" }, { status: "INACTIVE" }],
      ["provider.activate", { status: "INACTIVE" }, { status: "ACTIVE" }],
    ]);
    const missing = await cp.ok(`mutation { deactivateProvider(id: "${MISSING}") { ${RESULT("")} } }`);
    expect(missing.deactivateProvider).toMatchObject({ __typename: "NotFoundError", entity: "Provider", missingId: MISSING });
  });

  it("creates an inactive provider when asked to", async () => {
    const provider = await createProvider({ name: "Dormant", status: "INACTIVE" });
    expect(provider.status).toBe("INACTIVE");
  });

  it("deletes a provider with its models and audits it", async () => {
    const provider = await createProvider({ name: "Doomed", credentials: "doomed-secret-123456" });
    await cp.ok(ADD_MODEL, { input: { providerId: provider.id, upstreamName: "gpt-4o-mini" } });
    const { deleteProvider } = await cp.ok(`mutation ($id: ID!) { deleteProvider(id: $id) { ${RESULT("... on Provider { id name }")} } }`, { id: provider.id });
    expect(deleteProvider).toEqual({ __typename: "Provider", id: provider.id, name: "Doomed" });
    expect(await cp.prisma.provider.count({ where: { id: provider.id } })).toBe(0);
    expect(await cp.prisma.providerModel.count({ where: { providerId: provider.id } })).toBe(0);
    const audit = await auditFor(provider.id);
    expect(audit.at(-1)).toMatchObject({ action: "provider.delete", before: { name: "Doomed", credentials: "set" } });
    const again = await cp.ok(`mutation ($id: ID!) { deleteProvider(id: $id) { ${RESULT("")} } }`, { id: provider.id });
    expect(again.deleteProvider.__typename).toBe("NotFoundError");
  });

  it("lists providers by name and searches name, kind and base URL", async () => {
    await createProvider({ name: "Listing Zeta", kind: "azure-openai", baseUrl: "https://zeta.openai.azure.com" });
    await createProvider({ name: "Listing Alpha", kind: "openai-compatible", baseUrl: "http://ollama.listing.internal:11434/v1" });
    await createProvider({ name: "Listing Mid", kind: "anthropic", baseUrl: "https://api.anthropic.com" });
    const list = async (search: string) =>
      (await cp.ok(`query ($s: String) { providers(search: $s, first: 100) { totalCount edges { node { name } } } }`, { s: search })).providers;
    const names = async (search: string) => (await list(search)).edges.map((e: any) => e.node.name);
    expect(await names("LISTING")).toEqual(["Listing Alpha", "Listing Mid", "Listing Zeta"]);
    expect(await names("azure-openai")).toEqual(["Listing Zeta"]);
    expect(await names("ollama.listing.internal")).toEqual(["Listing Alpha"]);
    expect(await names("openai-compatible")).toContain("Listing Alpha");
    expect(await names("openai-compatible")).not.toContain("Listing Zeta");
    const page = await cp.ok(`{ providers(search: "listing", first: 2) { totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.providers.totalCount).toBe(3);
    expect(page.providers.pageInfo.hasNextPage).toBe(true);
    const next = await cp.ok(`query ($after: String) { providers(search: "listing", first: 2, after: $after) { edges { node { name } } } }`, {
      after: page.providers.pageInfo.endCursor,
    });
    expect(next.providers.edges.map((e: any) => e.node.name)).toEqual(["Listing Zeta"]);
  });

  it("answers null for an unknown or malformed provider id and lists the supported kinds", async () => {
    const result = await cp.ok(`{ a: provider(id: "${MISSING}") { id } b: provider(id: "nope") { id } providerKinds }`);
    expect(result).toEqual({ a: null, b: null, providerKinds: ["openai", "anthropic", "azure-openai", "openai-compatible"] });
  });
});

describe("provider models", () => {
  it("adds, reprices and removes a provider model with audited USD prices", async () => {
    const provider = await createProvider({ name: "Priced" });
    const { addProviderModel: model } = await cp.ok(ADD_MODEL, {
      input: { providerId: provider.id, upstreamName: "gpt-4o", inputPricePerMTok: "2.50", outputPricePerMTok: "10" },
    });
    expect(model).toMatchObject({
      __typename: "ProviderModel",
      upstreamName: "gpt-4o",
      inputPricePerMTok: "2.50",
      outputPricePerMTok: "10.00",
      cachedInputPricePerMTok: "0.00",
      provider: { id: provider.id },
    });
    expect((await cp.prisma.providerModel.findUniqueOrThrow({ where: { id: model.id } })).inputPricePerMTok).toBe(2_500_000n);

    const updated = await cp.ok(`mutation ($input: UpdateProviderModelInput!) { updateProviderModel(input: $input) { ${RESULT(
      "... on ProviderModel { upstreamName inputPricePerMTok outputPricePerMTok cachedInputPricePerMTok }",
    )} } }`, { input: { id: model.id, cachedInputPricePerMTok: "1.25" } });
    expect(updated.updateProviderModel).toMatchObject({ upstreamName: "gpt-4o", inputPricePerMTok: "2.50", cachedInputPricePerMTok: "1.25" });

    const listed = await cp.ok(`query ($id: ID!) { provider(id: $id) { models { upstreamName } } }`, { id: provider.id });
    expect(listed.provider.models).toEqual([{ upstreamName: "gpt-4o" }]);

    const removed = await cp.ok(`mutation ($id: ID!) { removeProviderModel(id: $id) { ${RESULT("... on ProviderModel { id }")} } }`, { id: model.id });
    expect(removed.removeProviderModel).toEqual({ __typename: "ProviderModel", id: model.id });
    expect(await cp.prisma.providerModel.count({ where: { id: model.id } })).toBe(0);

    const audit = await auditFor(model.id);
    expect(audit.map((a) => a.action)).toEqual(["provider.model.add", "provider.model.update", "provider.model.remove"]);
    expect(audit[0]!.after).toMatchObject({ upstreamName: "gpt-4o", inputPricePerMTok: "2.50", outputPricePerMTok: "10.00" });
    expect(audit[1]).toMatchObject({ before: { cachedInputPricePerMTok: "0.00" }, after: { cachedInputPricePerMTok: "1.25" } });
  });

  it("refuses a negative price with VALIDATION and adds or changes nothing", async () => {
    const provider = await createProvider({ name: "Negative" });
    const before = await counts();
    const { addProviderModel } = await cp.ok(ADD_MODEL, { input: { providerId: provider.id, upstreamName: "m", outputPricePerMTok: "-0.01" } });
    expect(addProviderModel).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "outputPricePerMTok" }] });
    expect(await counts()).toEqual(before);

    const { addProviderModel: model } = await cp.ok(ADD_MODEL, { input: { providerId: provider.id, upstreamName: "m", inputPricePerMTok: "1" } });
    const afterAdd = await counts();
    const bad = await cp.ok(`mutation ($input: UpdateProviderModelInput!) { updateProviderModel(input: $input) { ${RESULT("")} } }`, {
      input: { id: model.id, inputPricePerMTok: "-1" },
    });
    expect(bad.updateProviderModel.__typename).toBe("ValidationError");
    expect(await counts()).toEqual(afterAdd);
    expect((await cp.prisma.providerModel.findUniqueOrThrow({ where: { id: model.id } })).inputPricePerMTok).toBe(1_000_000n);
  });

  it("refuses a duplicate upstream name on the same provider but allows it on another", async () => {
    const a = await createProvider({ name: "Dup A" });
    const b = await createProvider({ name: "Dup B" });
    await cp.ok(ADD_MODEL, { input: { providerId: a.id, upstreamName: "gpt-4o-mini" } });
    const before = await counts();
    const dup = await cp.ok(ADD_MODEL, { input: { providerId: a.id, upstreamName: "gpt-4o-mini" } });
    expect(dup.addProviderModel).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "upstreamName" });
    expect(await counts()).toEqual(before);
    const other = await cp.ok(ADD_MODEL, { input: { providerId: b.id, upstreamName: "gpt-4o-mini" } });
    expect(other.addProviderModel.__typename).toBe("ProviderModel");
  });

  it("answers NOT_FOUND for a model on an unknown provider", async () => {
    const before = await counts();
    const { addProviderModel } = await cp.ok(ADD_MODEL, { input: { providerId: MISSING, upstreamName: "x" } });
    expect(addProviderModel).toMatchObject({ __typename: "NotFoundError", entity: "Provider", missingId: MISSING });
    expect(await counts()).toEqual(before);
  });
});
