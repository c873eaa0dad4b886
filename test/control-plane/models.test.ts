import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const RESULT = (fields: string) => /* GraphQL */ `
  __typename
  ... on Error { code message }
  ... on ValidationError { issues { path message } }
  ... on ConflictError { field }
  ... on NotFoundError { entity missingId: id }
  ${fields}`;

const MODEL_FIELDS = `id slug displayName kind routes { id priority weight status providerModel { id upstreamName provider { name } } }`;
const CREATE = `mutation ($input: CreateModelInput!) { createModel(input: $input) { ${RESULT(`... on Model { ${MODEL_FIELDS} }`)} } }`;
const UPDATE = `mutation ($input: UpdateModelInput!) { updateModel(input: $input) { ${RESULT(`... on Model { ${MODEL_FIELDS} }`)} } }`;
const ADD_ROUTE = `mutation ($input: AddModelRouteInput!) { addModelRoute(input: $input) { ${RESULT(`... on Model { ${MODEL_FIELDS} }`)} } }`;
const UPDATE_ROUTE = `mutation ($input: UpdateModelRouteInput!) { updateModelRoute(input: $input) { ${RESULT(`... on Model { ${MODEL_FIELDS} }`)} } }`;
const REMOVE_ROUTE = `mutation ($id: ID!) { removeModelRoute(id: $id) { ${RESULT(`... on Model { ${MODEL_FIELDS} }`)} } }`;

const MISSING = "00000000-0000-4000-8000-000000000000";

async function createModel(input: Record<string, unknown>) {
  const { createModel: model } = await cp.ok(CREATE, { input });
  expect(model.__typename).toBe("Model");
  return model;
}

/** A provider with one upstream model, set up directly: these tests are about models. */
async function providerModel(upstreamName = "gpt-4o-mini") {
  const provider = await cp.prisma.provider.create({
    data: { name: `Provider ${randomBytes(4).toString("hex")}`, kind: "openai", baseUrl: "https://api.openai.com/v1" },
  });
  return cp.prisma.providerModel.create({ data: { providerId: provider.id, upstreamName }, include: { provider: true } });
}

async function counts() {
  return { models: await cp.prisma.model.count(), routes: await cp.prisma.modelRoute.count(), audit: await cp.prisma.auditEvent.count() };
}

async function auditFor(targetId: string) {
  return cp.prisma.auditEvent.findMany({ where: { targetId }, orderBy: { id: "asc" } });
}

describe("models", () => {
  it("creates a chat model by default and audits it", async () => {
    const model = await createModel({ slug: "chat-fast", displayName: "Chat (fast)" });
    expect(model).toMatchObject({ slug: "chat-fast", displayName: "Chat (fast)", kind: "CHAT", routes: [] });
    const audit = await auditFor(model.id);
    expect(audit.map((a) => [a.action, a.after])).toEqual([["model.create", { slug: "chat-fast", displayName: "Chat (fast)", kind: "CHAT" }]]);
  });

  it("refuses an invalid slug with VALIDATION on the slug field and creates nothing", async () => {
    const before = await counts();
    const { createModel } = await cp.ok(CREATE, { input: { slug: "Chat Fast!", displayName: "Chat Fast" } });
    expect(createModel).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "slug" }] });
    expect(await counts()).toEqual(before);
  });

  it("refuses a duplicate slug with CONFLICT naming the slug, on create and on rename", async () => {
    await createModel({ slug: "embed-small", displayName: "Embeddings", kind: "EMBEDDING" });
    const other = await createModel({ slug: "embed-large", displayName: "Embeddings large", kind: "EMBEDDING" });
    const before = await counts();
    const { createModel: dup } = await cp.ok(CREATE, { input: { slug: "embed-small", displayName: "Again" } });
    expect(dup).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "slug" });
    expect(dup.message).toContain("embed-small");
    const { updateModel: rename } = await cp.ok(UPDATE, { input: { id: other.id, slug: "embed-small" } });
    expect(rename).toMatchObject({ __typename: "ConflictError", field: "slug" });
    expect(await counts()).toEqual(before);
  });

  it("finds models in the picker by slug or display name, case-insensitively, ordered by slug", async () => {
    await createModel({ slug: "picker-sonnet", displayName: "Claude Sonnet (picker)" });
    await createModel({ slug: "picker-haiku", displayName: "Claude Haiku (picker)" });
    await createModel({ slug: "picker-embed", displayName: "Text Embeddings (picker)", kind: "EMBEDDING" });
    const pick = async (search: string, kind?: string) =>
      (
        await cp.ok(`query ($s: String, $k: ModelKind) { models(search: $s, kind: $k, first: 50) { totalCount edges { node { slug } } } }`, {
          s: search,
          k: kind,
        })
      ).models.edges.map((e: any) => e.node.slug);
    expect(await pick("PICKER-")).toEqual(["picker-embed", "picker-haiku", "picker-sonnet"]);
    expect(await pick("claude")).toEqual(["picker-haiku", "picker-sonnet"]);
    expect(await pick("sonnet (PICK")).toEqual(["picker-sonnet"]);
    expect(await pick("picker", "EMBEDDING")).toEqual(["picker-embed"]);
    expect(await pick("no such model anywhere")).toEqual([]);

    const page = await cp.ok(`{ models(search: "picker", first: 2) { totalCount pageInfo { hasNextPage endCursor } } }`);
    expect(page.models).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const next = await cp.ok(`query ($after: String) { models(search: "picker", first: 2, after: $after) { edges { node { slug } } } }`, {
      after: page.models.pageInfo.endCursor,
    });
    expect(next.models.edges.map((e: any) => e.node.slug)).toEqual(["picker-sonnet"]);
  });

  it("reads one model by id or slug and answers null for unknown ones", async () => {
    const model = await createModel({ slug: "lookup-me", displayName: "Lookup" });
    const result = await cp.ok(
      `query ($id: ID!) { byId: model(id: $id) { slug } bySlug: modelBySlug(slug: "lookup-me") { id } unknownId: model(id: "${MISSING}") { id }
        badId: model(id: "nope") { id } unknownSlug: modelBySlug(slug: "nope-nope") { id } }`,
      { id: model.id },
    );
    expect(result).toEqual({ byId: { slug: "lookup-me" }, bySlug: { id: model.id }, unknownId: null, badId: null, unknownSlug: null });
  });

  it("renames a model, audits before and after, and keeps API keys narrowed to it pointing at it", async () => {
    const model = await createModel({ slug: "rename-old", displayName: "Old name" });
    const user = await cp.prisma.user.create({ data: { email: "rename@models.test", name: "Rename" } });
    const key = await cp.prisma.apiKey.create({
      data: { name: "narrow", prefix: "tg_rn", hash: randomBytes(16).toString("hex"), scopes: ["inference"], userId: user.id, modelSlugs: ["rename-old", "other"] },
    });
    const { updateModel } = await cp.ok(UPDATE, { input: { id: model.id, slug: "rename-new", displayName: "New name", kind: "COMPLETION" } });
    expect(updateModel).toMatchObject({ __typename: "Model", slug: "rename-new", displayName: "New name", kind: "COMPLETION" });
    expect((await cp.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } })).modelSlugs).toEqual(["rename-new", "other"]);
    const audit = await auditFor(model.id);
    expect(audit.at(-1)).toMatchObject({
      action: "model.update",
      before: { slug: "rename-old", displayName: "Old name", kind: "CHAT" },
      after: { slug: "rename-new", displayName: "New name", kind: "COMPLETION" },
    });
    const unchanged = await cp.ok(UPDATE, { input: { id: model.id, displayName: "Only the name" } });
    expect(unchanged.updateModel).toMatchObject({ slug: "rename-new", displayName: "Only the name" });
  });

  it("deletes a model with its routes and audits it", async () => {
    const pm = await providerModel();
    const model = await createModel({ slug: "delete-me", displayName: "Delete me" });
    await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id } });
    const { deleteModel } = await cp.ok(`mutation ($id: ID!) { deleteModel(id: $id) { ${RESULT("... on Model { slug }")} } }`, { id: model.id });
    expect(deleteModel).toEqual({ __typename: "Model", slug: "delete-me" });
    expect(await cp.prisma.modelRoute.count({ where: { modelId: model.id } })).toBe(0);
    expect(await cp.prisma.providerModel.count({ where: { id: pm.id } })).toBe(1);
    expect((await auditFor(model.id)).map((a) => a.action)).toEqual(["model.create", "model.delete"]);
    const again = await cp.ok(`mutation ($id: ID!) { deleteModel(id: $id) { ${RESULT("")} } }`, { id: model.id });
    expect(again.deleteModel).toMatchObject({ __typename: "NotFoundError", entity: "Model", missingId: model.id });
  });
});

describe("model routes", () => {
  it("adds, changes and removes routes, returning the model with its routes, and audits each", async () => {
    const primary = await providerModel("gpt-4o");
    const fallback = await providerModel("gpt-4o-fallback");
    const model = await createModel({ slug: "routed", displayName: "Routed" });

    const added = (await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: primary.id } })).addModelRoute;
    expect(added.routes).toEqual([
      { id: expect.any(String), priority: 0, weight: 1, status: "ACTIVE", providerModel: { id: primary.id, upstreamName: "gpt-4o", provider: { name: primary.provider.name } } },
    ]);
    const withFallback = (await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: fallback.id, priority: 1, weight: 3, status: "INACTIVE" } }))
      .addModelRoute;
    expect(withFallback.routes.map((r: any) => [r.providerModel.upstreamName, r.priority, r.weight, r.status])).toEqual([
      ["gpt-4o", 0, 1, "ACTIVE"],
      ["gpt-4o-fallback", 1, 3, "INACTIVE"],
    ]);
    const fallbackRoute = withFallback.routes[1].id;

    const reordered = (await cp.ok(UPDATE_ROUTE, { input: { id: fallbackRoute, priority: 0, status: "ACTIVE" } })).updateModelRoute;
    expect(reordered.routes.find((r: any) => r.id === fallbackRoute)).toMatchObject({ priority: 0, weight: 3, status: "ACTIVE" });

    const usedBy = await cp.ok(`{ model(id: "${model.id}") { routes { providerModel { routes { model { slug } } } } } }`);
    expect(usedBy.model.routes[0].providerModel.routes).toEqual([{ model: { slug: "routed" } }]);

    const removed = (await cp.ok(REMOVE_ROUTE, { id: fallbackRoute })).removeModelRoute;
    expect(removed).toMatchObject({ __typename: "Model", id: model.id });
    expect(removed.routes.map((r: any) => r.providerModel.id)).toEqual([primary.id]);

    const audit = await auditFor(fallbackRoute);
    expect(audit.map((a) => a.action)).toEqual(["model.route.add", "model.route.update", "model.route.remove"]);
    expect(audit[1]).toMatchObject({ before: { priority: 1, status: "INACTIVE" }, after: { priority: 0, status: "ACTIVE" } });
  });

  it("refuses weight 0 and a negative priority with VALIDATION and changes nothing", async () => {
    const pm = await providerModel();
    const model = await createModel({ slug: "bad-weights", displayName: "Bad weights" });
    const before = await counts();
    const zero = await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id, weight: 0 } });
    expect(zero.addModelRoute).toMatchObject({ __typename: "ValidationError", code: "VALIDATION", issues: [{ path: "weight" }] });
    const negative = await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id, priority: -1 } });
    expect(negative.addModelRoute).toMatchObject({ __typename: "ValidationError", issues: [{ path: "priority" }] });
    expect(await counts()).toEqual(before);

    const route = (await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id } })).addModelRoute.routes[0];
    const afterAdd = await counts();
    const update = await cp.ok(UPDATE_ROUTE, { input: { id: route.id, weight: 0 } });
    expect(update.updateModelRoute).toMatchObject({ __typename: "ValidationError", issues: [{ path: "weight" }] });
    expect(await counts()).toEqual(afterAdd);
    expect((await cp.prisma.modelRoute.findUniqueOrThrow({ where: { id: route.id } })).weight).toBe(1);
  });

  it("answers NOT_FOUND for an unknown provider model, model or route and changes nothing", async () => {
    const pm = await providerModel();
    const model = await createModel({ slug: "unknown-targets", displayName: "Unknown targets" });
    const before = await counts();
    const noProviderModel = await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: MISSING } });
    expect(noProviderModel.addModelRoute).toMatchObject({ __typename: "NotFoundError", code: "NOT_FOUND", entity: "ProviderModel", missingId: MISSING });
    const noModel = await cp.ok(ADD_ROUTE, { input: { modelId: MISSING, providerModelId: pm.id } });
    expect(noModel.addModelRoute).toMatchObject({ __typename: "NotFoundError", entity: "Model" });
    const noRoute = await cp.ok(REMOVE_ROUTE, { id: MISSING });
    expect(noRoute.removeModelRoute).toMatchObject({ __typename: "NotFoundError", entity: "ModelRoute" });
    expect(await counts()).toEqual(before);
  });

  it("refuses a second route to the same provider model with CONFLICT", async () => {
    const pm = await providerModel();
    const model = await createModel({ slug: "double-route", displayName: "Double route" });
    await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id } });
    const before = await counts();
    const dup = await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: pm.id, priority: 5 } });
    expect(dup.addModelRoute).toMatchObject({ __typename: "ConflictError", code: "CONFLICT", field: "providerModelId" });
    expect(await counts()).toEqual(before);
  });

  it("loads the picker with routes, provider models and providers in a constant number of queries", async () => {
    const run = (search: string) =>
      cp.countQueries(() => cp.ok(`query ($s: String) { models(search: $s, first: 50) { edges { node { ${MODEL_FIELDS} } } } }`, { s: search }));
    const one = await createModel({ slug: "nplus-one", displayName: "N+1 probe" });
    await cp.ok(ADD_ROUTE, { input: { modelId: one.id, providerModelId: (await providerModel()).id } });
    const single = await run("nplus-");
    expect(single).toBeGreaterThan(0);
    for (const slug of ["nplus-two", "nplus-three", "nplus-four"]) {
      const model = await createModel({ slug, displayName: slug });
      await cp.ok(ADD_ROUTE, { input: { modelId: model.id, providerModelId: (await providerModel()).id } });
    }
    expect(await run("nplus-")).toBe(single);
  });
});
