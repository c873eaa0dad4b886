// Who may do what, per role: OWNER, ADMIN, MEMBER, MEMBER with provider MANAGER access, and no key at all.
// For every entity one allowed and one refused operation per role; refused means FORBIDDEN with HTTP 403 and nothing
// changed, no key means UNAUTHENTICATED with HTTP 401. A schema walk proves no root field is left open by accident.
import { randomBytes } from "node:crypto";
import { type GraphQLField, type GraphQLInputType, getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { schema } from "../../control-plane/schema.ts";
import { type GraphQLClient, type GraphQLResponse, startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
let owner: GraphQLClient;
let admin: GraphQLClient;
let member: GraphQLClient;
let manager: GraphQLClient;
let anonymous: GraphQLClient;
/** Rows every test may read; a test that changes something makes its own rows. */
const ids = {} as Record<
  "owner" | "admin" | "member" | "manager" | "other" | "group" | "managersGroup" | "otherGroup" | "provider" | "otherProvider" |
    "providerModel" | "otherProviderModel" | "model" | "memberGrant" | "otherAccess" | "virtualAccount",
  string
>;
const missing = "00000000-0000-4000-8000-000000000000";
const unique = (what: string) => `${what}-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  cp = await startTestControlPlane();
  const db = cp.prisma;
  const [adminUser, memberUser, managerUser] = await Promise.all([cp.userWithKey("ADMIN"), cp.userWithKey("MEMBER"), cp.userWithKey("MEMBER")]);
  owner = cp;
  admin = cp.as(adminUser.secret);
  member = cp.as(memberUser.secret);
  manager = cp.as(managerUser.secret);
  anonymous = cp.as(null);
  ids.owner = (await db.user.findUniqueOrThrow({ where: { email: "owner@tollgate.test" } })).id;
  ids.admin = adminUser.id;
  ids.member = memberUser.id;
  ids.manager = managerUser.id;
  ids.other = (await db.user.create({ data: { email: "other@authz.test", name: "Other" } })).id;
  ids.group = (await db.group.create({ data: { name: "Engineering", members: { create: { userId: ids.member } } } })).id;
  ids.managersGroup = (await db.group.create({ data: { name: "Provider ops", members: { create: { userId: ids.manager } } } })).id;
  ids.otherGroup = (await db.group.create({ data: { name: "Finance", members: { create: { userId: ids.other } } } })).id;
  const provider = await db.provider.create({ data: { name: "Managed", kind: "openai", baseUrl: "https://managed.test/v1" } });
  const otherProvider = await db.provider.create({ data: { name: "Unmanaged", kind: "openai", baseUrl: "https://unmanaged.test/v1" } });
  ids.provider = provider.id;
  ids.otherProvider = otherProvider.id;
  await db.providerAccess.create({ data: { providerId: provider.id, userId: ids.manager, level: "MANAGER" } });
  ids.otherAccess = (await db.providerAccess.create({ data: { providerId: otherProvider.id, userId: ids.other, level: "USER" } })).id;
  ids.providerModel = (await db.providerModel.create({ data: { providerId: provider.id, upstreamName: "gpt-managed" } })).id;
  ids.otherProviderModel = (await db.providerModel.create({ data: { providerId: otherProvider.id, upstreamName: "gpt-other" } })).id;
  const model = await db.model.create({ data: { slug: "chat-authz", displayName: "Chat", routes: { create: { providerModelId: ids.providerModel } } } });
  ids.model = model.id;
  ids.memberGrant = (await db.modelGrant.create({ data: { modelId: model.id, userId: ids.member } })).id;
  await db.rateLimit.create({ data: { userId: ids.member, requestsPerMinute: 60 } });
  await db.budget.create({ data: { userId: ids.member, period: "DAILY", capMicros: 5_000_000n } });
  ids.virtualAccount = (await db.virtualAccount.create({ data: { name: "batch-jobs" } })).id;
});
afterAll(async () => {
  await cp?.close();
});

/** Every change writes an audit event and bumps the policy version, so equal marks mean nothing changed. */
async function changeMarks() {
  const [audits, policy] = await Promise.all([cp.prisma.auditEvent.count(), cp.prisma.policyVersion.findUnique({ where: { id: 1 } })]);
  return { audits, version: policy?.version };
}

async function allowed(client: GraphQLClient, query: string, variables?: Record<string, unknown>) {
  const result = await client.gql(query, variables);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  expect(result.status).toBe(200);
  return result.data!;
}

async function refusedWith(status: number, code: string, client: GraphQLClient, query: string, variables?: Record<string, unknown>) {
  const before = await changeMarks();
  const result: GraphQLResponse = await client.gql(query, variables);
  expect(result.errors?.map((e) => e.extensions?.code), JSON.stringify(result)).toContain(code);
  expect(result.status).toBe(status);
  expect(await changeMarks()).toEqual(before);
}

const forbidden = (client: GraphQLClient, query: string, variables?: Record<string, unknown>) => refusedWith(403, "FORBIDDEN", client, query, variables);
const unauthenticated = (query: string, variables?: Record<string, unknown>) => refusedWith(401, "UNAUTHENTICATED", anonymous, query, variables);

const ERRORS = `... on Error { code message }`;
const ME = `{ me { id email role } }`;
const USER = `query ($id: ID!) { user(id: $id) { id email grants { id } providerAccess { level } rateLimit { requestsPerMinute } budgets { period } groups { name } } }`;
const USERS = `{ users { totalCount } }`;
const CREATE_USER = `mutation ($input: CreateUserInput!) { createUser(input: $input) { __typename ... on User { id role } ${ERRORS} } }`;
const UPDATE_USER = `mutation ($input: UpdateUserInput!) { updateUser(input: $input) { __typename ... on User { id role name } ${ERRORS} } }`;
const DISABLE_USER = `mutation ($id: ID!) { disableUser(id: $id) { __typename ... on User { status } ${ERRORS} } }`;

describe("users", () => {
  it("an owner may give and take the OWNER role", async () => {
    const user = await cp.prisma.user.create({ data: { email: `${unique("promote")}@authz.test`, name: "Promoted" } });
    expect((await allowed(owner, UPDATE_USER, { input: { id: user.id, role: "OWNER" } })).updateUser.role).toBe("OWNER");
    expect((await allowed(owner, UPDATE_USER, { input: { id: user.id, role: "MEMBER" } })).updateUser.role).toBe("MEMBER");
  });

  it("an admin manages members but may not make, change or disable an owner", async () => {
    const created = (await allowed(admin, CREATE_USER, { input: { email: `${unique("new")}@authz.test`, name: "New" } })).createUser;
    expect(created).toMatchObject({ __typename: "User", role: "MEMBER" });
    expect((await allowed(admin, UPDATE_USER, { input: { id: created.id, name: "Renamed" } })).updateUser.name).toBe("Renamed");

    const anOwner = await cp.prisma.user.create({ data: { email: `${unique("owner")}@authz.test`, name: "Owner Two", role: "OWNER" } });
    await forbidden(admin, UPDATE_USER, { input: { id: created.id, role: "OWNER" } });
    await forbidden(admin, UPDATE_USER, { input: { id: anOwner.id, role: "ADMIN" } });
    await forbidden(admin, UPDATE_USER, { input: { id: anOwner.id, name: "Renamed" } });
    await forbidden(admin, DISABLE_USER, { id: anOwner.id });
    await forbidden(admin, CREATE_USER, { input: { email: `${unique("o")}@authz.test`, name: "Sneaky", role: "OWNER" } });
    expect(await cp.prisma.user.findUniqueOrThrow({ where: { id: anOwner.id } })).toMatchObject({ role: "OWNER", status: "ACTIVE", name: "Owner Two" });
    expect(await cp.prisma.user.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({ role: "MEMBER" });
  });

  it("a member sees themselves with their grants, access, limits, budgets and groups, and nobody else", async () => {
    expect((await allowed(member, ME)).me).toMatchObject({ id: ids.member, role: "MEMBER" });
    const { user } = await allowed(member, USER, { id: ids.member });
    expect(user).toMatchObject({
      id: ids.member,
      grants: [{ id: ids.memberGrant }],
      rateLimit: { requestsPerMinute: 60 },
      budgets: [{ period: "DAILY" }],
      groups: [{ name: "Engineering" }],
    });
    await forbidden(member, USER, { id: ids.other });
    await forbidden(member, USERS);
    await forbidden(member, UPDATE_USER, { input: { id: ids.member, role: "ADMIN" } });
    expect((await cp.prisma.user.findUniqueOrThrow({ where: { id: ids.member } })).role).toBe("MEMBER");
  });

  it("a provider manager sees themselves but may not create users", async () => {
    expect((await allowed(manager, ME)).me.id).toBe(ids.manager);
    await forbidden(manager, CREATE_USER, { input: { email: `${unique("m")}@authz.test`, name: "Nope" } });
  });

  it("without a key, nothing about users is answered", async () => {
    await unauthenticated(ME);
    await unauthenticated(USERS);
    await unauthenticated(CREATE_USER, { input: { email: `${unique("anon")}@authz.test`, name: "Anon" } });
  });
});

const GROUP = (fields: string) => `query ($id: ID!) { group(id: $id) { ${fields} } }`;
const GROUPS = `{ groups { totalCount } }`;
const CREATE_GROUP = `mutation ($name: String!) { createGroup(input: { name: $name }) { __typename ... on Group { id } } }`;
const ADD_MEMBERS = `mutation ($input: GroupMembersInput!) { addGroupMembers(input: $input) { __typename ... on Group { memberCount } } }`;

describe("groups", () => {
  it("an owner and an admin create groups and see who is in them", async () => {
    await allowed(owner, CREATE_GROUP, { name: unique("owners-group") });
    await allowed(admin, CREATE_GROUP, { name: unique("admins-group") });
    const { group } = await allowed(admin, GROUP("members { id } grants { id } providerAccess { id } rateLimit { id } budgets { id }"), { id: ids.group });
    expect(group.members).toEqual([{ id: ids.member }]);
  });

  it("a member sees their groups, but not who is in them, what they hold, other groups or the list", async () => {
    expect((await allowed(member, GROUP("name memberCount"), { id: ids.group })).group).toEqual({ name: "Engineering", memberCount: 1 });
    expect((await allowed(member, `{ me { groups { name } } }`)).me.groups).toEqual([{ name: "Engineering" }]);
    for (const field of ["members { id }", "grants { id }", "providerAccess { id }", "rateLimit { id }", "budgets { id }"]) {
      await forbidden(member, GROUP(field), { id: ids.group });
    }
    await forbidden(member, GROUP("name"), { id: ids.otherGroup });
    await forbidden(member, GROUPS);
    await forbidden(member, ADD_MEMBERS, { input: { groupId: ids.otherGroup, userIds: [ids.member] } });
  });

  it("a provider manager sees their own group but may not create groups", async () => {
    expect((await allowed(manager, GROUP("name"), { id: ids.managersGroup })).group.name).toBe("Provider ops");
    await forbidden(manager, CREATE_GROUP, { name: unique("managers-group") });
  });

  it("without a key, groups are not answered", async () => {
    await unauthenticated(GROUPS);
    await unauthenticated(CREATE_GROUP, { name: unique("anon-group") });
  });
});

const VIRTUAL_ACCOUNT = `query ($id: ID!) { virtualAccount(id: $id) { name } }`;
const VIRTUAL_ACCOUNTS = `{ virtualAccounts { totalCount } }`;
const CREATE_VA = `mutation ($name: String!) { createVirtualAccount(input: { name: $name }) { __typename ... on VirtualAccount { id } } }`;
const DISABLE_VA = `mutation ($id: ID!) { disableVirtualAccount(id: $id) { __typename } }`;

describe("virtual accounts", () => {
  it("an owner and an admin create and read virtual accounts", async () => {
    await allowed(owner, CREATE_VA, { name: unique("owner-va") });
    await allowed(admin, CREATE_VA, { name: unique("admin-va") });
    expect((await allowed(admin, VIRTUAL_ACCOUNT, { id: ids.virtualAccount })).virtualAccount.name).toBe("batch-jobs");
  });

  it("a member and a provider manager may neither read nor change them", async () => {
    await forbidden(member, VIRTUAL_ACCOUNT, { id: ids.virtualAccount });
    await forbidden(member, VIRTUAL_ACCOUNTS);
    await forbidden(manager, DISABLE_VA, { id: ids.virtualAccount });
    await forbidden(manager, CREATE_VA, { name: unique("manager-va") });
    expect((await cp.prisma.virtualAccount.findUniqueOrThrow({ where: { id: ids.virtualAccount } })).status).toBe("ACTIVE");
  });

  it("without a key, they are not answered", async () => {
    await unauthenticated(VIRTUAL_ACCOUNTS);
    await unauthenticated(DISABLE_VA, { id: ids.virtualAccount });
  });
});

const PROVIDER = `query ($id: ID!) { provider(id: $id) { name models { upstreamName } access { level } } }`;
const PROVIDERS = `{ providers { totalCount edges { node { id } } } }`;
const CREATE_PROVIDER = `mutation ($name: String!) {
  createProvider(input: { name: $name, kind: "openai", baseUrl: "https://new.test/v1" }) { __typename ... on Provider { id } } }`;
const UPDATE_PROVIDER = `mutation ($id: ID!, $name: String!) { updateProvider(input: { id: $id, name: $name }) { __typename ... on Provider { name } } }`;
const DEACTIVATE_PROVIDER = `mutation ($id: ID!) { deactivateProvider(id: $id) { __typename ... on Provider { status } } }`;
const ACTIVATE_PROVIDER = `mutation ($id: ID!) { activateProvider(id: $id) { __typename ... on Provider { status } } }`;
const DELETE_PROVIDER = `mutation ($id: ID!) { deleteProvider(id: $id) { __typename } }`;

describe("providers", () => {
  it("an owner deletes and an admin creates providers", async () => {
    const { createProvider } = await allowed(admin, CREATE_PROVIDER, { name: unique("provider") });
    expect((await allowed(owner, DELETE_PROVIDER, { id: createProvider.id })).deleteProvider.__typename).toBe("Provider");
  });

  it("a manager runs their provider (read, edit, switch off and on) and lists only it", async () => {
    expect((await allowed(manager, PROVIDER, { id: ids.provider })).provider.models).toEqual([{ upstreamName: "gpt-managed" }]);
    expect((await allowed(manager, PROVIDERS)).providers).toEqual({ totalCount: 1, edges: [{ node: { id: ids.provider } }] });
    const name = unique("Managed");
    expect((await allowed(manager, UPDATE_PROVIDER, { id: ids.provider, name })).updateProvider.name).toBe(name);
    expect((await allowed(manager, DEACTIVATE_PROVIDER, { id: ids.provider })).deactivateProvider.status).toBe("INACTIVE");
    expect((await allowed(manager, ACTIVATE_PROVIDER, { id: ids.provider })).activateProvider.status).toBe("ACTIVE");
  });

  it("a manager may not touch other providers, nor create or delete any", async () => {
    await forbidden(manager, PROVIDER, { id: ids.otherProvider });
    await forbidden(manager, UPDATE_PROVIDER, { id: ids.otherProvider, name: unique("hijacked") });
    await forbidden(manager, DEACTIVATE_PROVIDER, { id: ids.otherProvider });
    await forbidden(manager, CREATE_PROVIDER, { name: unique("mine") });
    await forbidden(manager, DELETE_PROVIDER, { id: ids.provider });
    expect(await cp.prisma.provider.findUniqueOrThrow({ where: { id: ids.otherProvider } })).toMatchObject({ name: "Unmanaged", status: "ACTIVE" });
  });

  it("MANAGER access through a group counts too", async () => {
    const viaGroup = await cp.userWithKey("MEMBER");
    const provider = await cp.prisma.provider.create({ data: { name: unique("group-managed"), kind: "openai", baseUrl: "https://g.test/v1" } });
    await cp.prisma.group.create({
      data: { name: unique("ops"), members: { create: { userId: viaGroup.id } }, providerAccess: { create: { providerId: provider.id, level: "MANAGER" } } },
    });
    const client = cp.as(viaGroup.secret);
    await allowed(client, UPDATE_PROVIDER, { id: provider.id, name: unique("renamed") });
    await forbidden(client, UPDATE_PROVIDER, { id: ids.provider, name: unique("hijacked") });
  });

  it("a member lists no providers (an empty list, not an error) and may not read or edit one", async () => {
    expect((await allowed(member, PROVIDERS)).providers).toEqual({ totalCount: 0, edges: [] });
    expect((await allowed(member, `{ providerKinds }`)).providerKinds).toContain("openai");
    await forbidden(member, PROVIDER, { id: ids.provider });
    await forbidden(member, UPDATE_PROVIDER, { id: ids.provider, name: unique("member-edit") });
  });

  it("without a key, providers and provider kinds are not answered", async () => {
    await unauthenticated(PROVIDERS);
    await unauthenticated(`{ providerKinds }`);
  });
});

const ADD_PM = `mutation ($providerId: ID!, $name: String!) {
  addProviderModel(input: { providerId: $providerId, upstreamName: $name }) { __typename ... on ProviderModel { id } ${ERRORS} } }`;
const UPDATE_PM = `mutation ($id: ID!) { updateProviderModel(input: { id: $id, inputPricePerMTok: "1.50" }) {
  __typename ... on ProviderModel { inputPricePerMTok } ${ERRORS} } }`;
const REMOVE_PM = `mutation ($id: ID!) { removeProviderModel(id: $id) { __typename ${ERRORS} } }`;

describe("provider models", () => {
  it("a manager adds, prices and removes their provider's models", async () => {
    const { addProviderModel } = await allowed(manager, ADD_PM, { providerId: ids.provider, name: unique("m") });
    expect(addProviderModel.__typename).toBe("ProviderModel");
    expect((await allowed(manager, UPDATE_PM, { id: addProviderModel.id })).updateProviderModel.inputPricePerMTok).toBe("1.50");
    expect((await allowed(manager, REMOVE_PM, { id: addProviderModel.id })).removeProviderModel.__typename).toBe("ProviderModel");
  });

  it("a manager may not change another provider's models, and an unknown id is FORBIDDEN rather than NOT_FOUND", async () => {
    await forbidden(manager, ADD_PM, { providerId: ids.otherProvider, name: unique("m") });
    await forbidden(manager, UPDATE_PM, { id: ids.otherProviderModel });
    await forbidden(manager, REMOVE_PM, { id: ids.otherProviderModel });
    await forbidden(manager, REMOVE_PM, { id: missing });
    expect(await cp.prisma.providerModel.count({ where: { id: ids.otherProviderModel } })).toBe(1);
  });

  it("an admin changes any provider's models and gets NOT_FOUND for an unknown one; an owner too", async () => {
    await allowed(admin, UPDATE_PM, { id: ids.otherProviderModel });
    expect((await allowed(admin, REMOVE_PM, { id: missing })).removeProviderModel.code).toBe("NOT_FOUND");
    await allowed(owner, ADD_PM, { providerId: ids.otherProvider, name: unique("m") });
  });

  it("a member may not add models to a provider, and no key gets 401", async () => {
    await forbidden(member, ADD_PM, { providerId: ids.provider, name: unique("m") });
    await unauthenticated(ADD_PM, { providerId: ids.provider, name: unique("m") });
  });
});

const MODELS = `{ models { totalCount } }`;
const MODEL_BY_SLUG = `{ modelBySlug(slug: "chat-authz") { id } }`;
const CREATE_MODEL = `mutation ($slug: String!) { createModel(input: { slug: $slug, displayName: "New" }) { __typename ... on Model { id } } }`;
const ADD_ROUTE = `mutation ($modelId: ID!, $pm: ID!) { addModelRoute(input: { modelId: $modelId, providerModelId: $pm }) { __typename } }`;

describe("models and routes", () => {
  it("an owner and an admin create models and route them", async () => {
    await allowed(owner, CREATE_MODEL, { slug: unique("owner-model") });
    const { createModel } = await allowed(admin, CREATE_MODEL, { slug: unique("admin-model") });
    expect((await allowed(admin, ADD_ROUTE, { modelId: createModel.id, pm: ids.providerModel })).addModelRoute.__typename).toBe("Model");
    expect((await allowed(admin, MODEL_BY_SLUG)).modelBySlug.id).toBe(ids.model);
  });

  it("a member sees the models they may use through their grants, but not the catalogue", async () => {
    expect((await allowed(member, `{ me { grants { model { slug displayName } } } }`)).me.grants).toEqual([{ model: { slug: "chat-authz", displayName: "Chat" } }]);
    await forbidden(member, MODELS);
    await forbidden(member, MODEL_BY_SLUG);
    await forbidden(member, `query ($id: ID!) { model(id: $id) { slug } }`, { id: ids.model });
    await forbidden(member, CREATE_MODEL, { slug: unique("member-model") });
  });

  it("a provider manager may not route models, even to their own provider", async () => {
    const model = await cp.prisma.model.create({ data: { slug: unique("unrouted"), displayName: "Unrouted" } });
    await forbidden(manager, ADD_ROUTE, { modelId: model.id, pm: ids.providerModel });
    expect(await cp.prisma.modelRoute.count({ where: { modelId: model.id } })).toBe(0);
  });

  it("without a key, models are not answered", async () => {
    await unauthenticated(MODELS);
    await unauthenticated(CREATE_MODEL, { slug: unique("anon-model") });
  });
});

const GRANT = `mutation ($modelId: ID!, $subject: SubjectInput!) { grantModel(input: { modelId: $modelId, subject: $subject }) {
  __typename ... on ModelGrant { id } } }`;
const REVOKE = `mutation ($id: ID!) { revokeGrant(id: $id) { __typename } }`;

describe("grants", () => {
  it("an owner and an admin grant and revoke models", async () => {
    const { grantModel } = await allowed(admin, GRANT, { modelId: ids.model, subject: { groupId: ids.otherGroup } });
    expect(grantModel.__typename).toBe("ModelGrant");
    expect((await allowed(owner, REVOKE, { id: grantModel.id })).revokeGrant.__typename).toBe("ModelGrant");
  });

  it("a member sees their own grants but not who else holds the model, and may not grant themselves more", async () => {
    expect((await allowed(member, `{ me { grants { id } } }`)).me.grants).toEqual([{ id: ids.memberGrant }]);
    await forbidden(member, `{ me { grants { model { grants { id } } } } }`);
    const model = await cp.prisma.model.create({ data: { slug: unique("wanted"), displayName: "Wanted" } });
    await forbidden(member, GRANT, { modelId: model.id, subject: { userId: ids.member } });
  });

  it("a provider manager may not revoke grants, and no key gets 401", async () => {
    await forbidden(manager, REVOKE, { id: ids.memberGrant });
    await unauthenticated(REVOKE, { id: ids.memberGrant });
    expect(await cp.prisma.modelGrant.count({ where: { id: ids.memberGrant } })).toBe(1);
  });
});

const SET_ACCESS = `mutation ($providerId: ID!, $subject: SubjectInput!, $level: AccessLevel) {
  setProviderAccess(input: { providerId: $providerId, subject: $subject, level: $level }) { __typename ... on ProviderAccess { id level } } }`;
const REMOVE_ACCESS = `mutation ($id: ID!) { removeProviderAccess(id: $id) { __typename ${ERRORS} } }`;

describe("provider access", () => {
  it("a manager decides who may use their provider", async () => {
    const user = await cp.prisma.user.create({ data: { email: `${unique("user")}@authz.test`, name: "User" } });
    const { setProviderAccess } = await allowed(manager, SET_ACCESS, { providerId: ids.provider, subject: { userId: user.id }, level: "USER" });
    expect(setProviderAccess.level).toBe("USER");
    expect((await allowed(manager, REMOVE_ACCESS, { id: setProviderAccess.id })).removeProviderAccess.__typename).toBe("ProviderAccess");
  });

  it("a manager sees who holds access to their provider through `subject`, without reading user profiles", async () => {
    const outsider = await cp.prisma.user.create({ data: { email: `${unique("outsider")}@authz.test`, name: "Outsider" } });
    await cp.prisma.providerAccess.create({ data: { providerId: ids.provider, userId: outsider.id, level: "USER" } });
    const { provider } = await allowed(manager, `query ($id: ID!) { provider(id: $id) { access { level subject { kind name } } } }`, { id: ids.provider });
    expect(provider.access).toContainEqual({ level: "MANAGER", subject: { kind: "USER", name: (await cp.prisma.user.findUniqueOrThrow({ where: { id: ids.manager } })).email } });
    expect(provider.access).toContainEqual({ level: "USER", subject: { kind: "USER", name: outsider.email } });
    await forbidden(manager, `query ($id: ID!) { provider(id: $id) { access { user { email } } } }`, { id: ids.provider });
    await cp.prisma.providerAccess.deleteMany({ where: { userId: outsider.id } });
  });

  it("a manager may not give themselves access elsewhere, nor remove it there; an unknown id is FORBIDDEN", async () => {
    await forbidden(manager, SET_ACCESS, { providerId: ids.otherProvider, subject: { userId: ids.manager }, level: "MANAGER" });
    await forbidden(manager, REMOVE_ACCESS, { id: ids.otherAccess });
    await forbidden(manager, REMOVE_ACCESS, { id: missing });
    expect(await cp.prisma.providerAccess.count({ where: { userId: ids.manager } })).toBe(1);
  });

  it("an admin sets access on any provider and gets NOT_FOUND for an unknown one; an owner too", async () => {
    await allowed(admin, SET_ACCESS, { providerId: ids.otherProvider, subject: { groupId: ids.otherGroup } });
    expect((await allowed(admin, REMOVE_ACCESS, { id: missing })).removeProviderAccess.code).toBe("NOT_FOUND");
    await allowed(owner, SET_ACCESS, { providerId: ids.otherProvider, subject: { virtualAccountId: ids.virtualAccount } });
  });

  it("a member sees their own access but may not make themselves a manager, and no key gets 401", async () => {
    expect((await allowed(manager, `{ me { providerAccess { level } } }`)).me.providerAccess).toEqual([{ level: "MANAGER" }]);
    await forbidden(member, SET_ACCESS, { providerId: ids.provider, subject: { userId: ids.member }, level: "MANAGER" });
    await unauthenticated(SET_ACCESS, { providerId: ids.provider, subject: { userId: ids.member }, level: "MANAGER" });
  });
});

const SET_LIMIT = `mutation ($subject: SubjectInput!) { setRateLimit(input: { subject: $subject, requestsPerMinute: 100000 }) { __typename } }`;
const CLEAR_LIMIT = `mutation ($subject: SubjectInput!) { clearRateLimit(subject: $subject) { __typename } }`;

describe("rate limits", () => {
  it("an owner and an admin set and clear limits", async () => {
    await allowed(admin, SET_LIMIT, { subject: { groupId: ids.otherGroup } });
    await allowed(owner, CLEAR_LIMIT, { subject: { groupId: ids.otherGroup } });
  });

  it("a member sees their own limit but may not raise it or read their group's", async () => {
    expect((await allowed(member, `{ me { rateLimit { requestsPerMinute } } }`)).me.rateLimit).toEqual({ requestsPerMinute: 60 });
    await forbidden(member, SET_LIMIT, { subject: { userId: ids.member } });
    await forbidden(member, GROUP("rateLimit { requestsPerMinute }"), { id: ids.group });
    expect((await cp.prisma.rateLimit.findUniqueOrThrow({ where: { userId: ids.member } })).requestsPerMinute).toBe(60);
  });

  it("a provider manager may not clear their own limit, and no key gets 401", async () => {
    await forbidden(manager, CLEAR_LIMIT, { subject: { userId: ids.manager } });
    await unauthenticated(SET_LIMIT, { subject: { userId: ids.member } });
  });
});

const SET_BUDGET = `mutation ($subject: SubjectInput!) { setBudget(input: { subject: $subject, period: DAILY, cap: "1000.00" }) { __typename } }`;
const CLEAR_BUDGET = `mutation ($subject: SubjectInput!) { clearBudget(input: { subject: $subject, period: DAILY }) { __typename } }`;

describe("budgets", () => {
  it("an owner and an admin set and clear budgets", async () => {
    await allowed(admin, SET_BUDGET, { subject: { groupId: ids.otherGroup } });
    await allowed(owner, CLEAR_BUDGET, { subject: { groupId: ids.otherGroup } });
  });

  it("a member sees their own budget but may not raise it or read their group's", async () => {
    expect((await allowed(member, `{ me { budgets { period cap } } }`)).me.budgets).toEqual([{ period: "DAILY", cap: "5.00" }]);
    await forbidden(member, SET_BUDGET, { subject: { userId: ids.member } });
    await forbidden(member, GROUP("budgets { cap }"), { id: ids.group });
    expect((await cp.prisma.budget.findFirstOrThrow({ where: { userId: ids.member } })).capMicros).toBe(5_000_000n);
  });

  it("a provider manager may not clear budgets, and no key gets 401", async () => {
    await forbidden(manager, CLEAR_BUDGET, { subject: { userId: ids.member } });
    await unauthenticated(CLEAR_BUDGET, { subject: { userId: ids.member } });
  });
});

const POLICY = `query ($userId: ID, $virtualAccountId: ID) { effectivePolicy(userId: $userId, virtualAccountId: $virtualAccountId) {
  __typename ... on EffectivePolicy { models { slug } } } }`;

describe("effective policy", () => {
  it("an owner and an admin read anyone's policy, virtual accounts included", async () => {
    expect((await allowed(admin, POLICY, { userId: ids.member })).effectivePolicy.models).toEqual([{ slug: "chat-authz" }]);
    await allowed(owner, POLICY, { virtualAccountId: ids.virtualAccount });
  });

  it("a member reads their own policy only", async () => {
    expect((await allowed(member, POLICY, { userId: ids.member })).effectivePolicy.models).toEqual([{ slug: "chat-authz" }]);
    await forbidden(member, POLICY, { userId: ids.other });
    await forbidden(member, POLICY, { virtualAccountId: ids.virtualAccount });
  });

  it("a provider manager reads their own policy but not a virtual account's, and no key gets 401", async () => {
    await allowed(manager, POLICY, { userId: ids.manager });
    await forbidden(manager, POLICY, { virtualAccountId: ids.virtualAccount });
    await unauthenticated(POLICY, { userId: ids.member });
  });
});

const CHANGES = `subscription { changes(kinds: [USER]) { kind action targetId } }`;

/** An SSE subscription to USER changes; `next()` is the next event, or null once the server ended the stream. */
async function subscribeToChanges(secret: string | null) {
  const abort = new AbortController();
  const response = await fetch(cp.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    body: JSON.stringify({ query: CHANGES }),
    signal: abort.signal,
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const next = async (): Promise<Record<string, any> | null> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const lines = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        if (lines.includes("event: complete")) return null;
        const data = lines.find((l) => l.startsWith("data:"));
        if (data) return JSON.parse(data.slice(5));
        continue;
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += decoder.decode(value, { stream: true });
    }
  };
  // The subscription reaches the change bus just after the response starts.
  await new Promise((r) => setTimeout(r, 200));
  return { status: response.status, next, close: () => abort.abort() };
}

const RENAME = `mutation ($id: ID!, $name: String!) { updateUser(input: { id: $id, name: $name }) { __typename } }`;

describe("change events", () => {
  it("a member receives changes to their own user but not to another user's, and the stream ends when their key is revoked", async () => {
    const user = await cp.userWithKey("MEMBER");
    const stream = await subscribeToChanges(user.secret);
    expect(stream.status).toBe(200);
    await allowed(admin, RENAME, { id: ids.other, name: unique("other") });
    await allowed(admin, RENAME, { id: user.id, name: unique("me") });
    expect((await stream.next())?.data.changes).toEqual({ kind: "USER", action: "user.update", targetId: user.id });

    await cp.prisma.apiKey.updateMany({ where: { userId: user.id }, data: { revokedAt: new Date() } });
    await allowed(admin, RENAME, { id: user.id, name: unique("revoked") });
    expect(await stream.next()).toBeNull();
    stream.close();
  });

  it("an admin receives every user's changes until demoted, then only their own", async () => {
    const user = await cp.userWithKey("ADMIN");
    const stream = await subscribeToChanges(user.secret);
    await allowed(owner, RENAME, { id: ids.other, name: unique("seen") });
    expect((await stream.next())?.data.changes.targetId).toBe(ids.other);

    await cp.prisma.user.update({ where: { id: user.id }, data: { role: "MEMBER" } });
    await allowed(owner, RENAME, { id: ids.other, name: unique("unseen") });
    await allowed(owner, RENAME, { id: user.id, name: unique("own") });
    expect((await stream.next())?.data.changes.targetId).toBe(user.id);
    stream.close();
  });

  it("a disabled user's stream ends", async () => {
    const user = await cp.userWithKey("MEMBER");
    const stream = await subscribeToChanges(user.secret);
    await allowed(owner, DISABLE_USER, { id: user.id });
    expect(await stream.next()).toBeNull();
    stream.close();
  });

  it("without a key, subscribing is refused with 401", async () => {
    const stream = await subscribeToChanges(null);
    expect(stream.status).toBe(401);
    stream.close();
  });
});

/** Fields anyone may call without a key; everything else must answer 401 UNAUTHENTICATED. */
const PUBLIC_FIELDS = new Set(["acceptInvite"]);

/** Some value the input type accepts: authorization runs before resolvers, so it only has to pass validation. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return Object.fromEntries(fields.map((f) => [f.name, sampleValue(f.type)]));
  }
  if (isScalarType(type)) {
    const candidates = [missing, "1.00", "2030-01-01T00:00:00.000Z", 1, true, {}];
    return candidates.find((c) => {
      try {
        return type.parseValue(c) !== undefined;
      } catch {
        return false;
      }
    });
  }
  throw new Error(`no sample for ${String(type)}`);
}

/** The smallest operation calling the field: its required arguments as variables, `__typename` as the selection. */
function operationFor(kind: "query" | "mutation" | "subscription", field: GraphQLField<unknown, unknown>) {
  const args = field.args.filter((a) => isNonNullType(a.type));
  const declared = args.map((a) => `$${a.name}: ${String(a.type)}`).join(", ");
  const passed = args.map((a) => `${a.name}: $${a.name}`).join(", ");
  const named = getNamedType(field.type);
  const selection = isScalarType(named) || isEnumType(named) ? "" : "{ __typename }";
  return {
    query: `${kind} ${declared ? `(${declared})` : ""} { ${field.name}${passed ? `(${passed})` : ""} ${selection} }`,
    variables: Object.fromEntries(args.map((a) => [a.name, sampleValue(a.type)])),
  };
}

describe("nothing is left open", () => {
  const roots = [
    ["query", schema.getQueryType()],
    ["mutation", schema.getMutationType()],
    ["subscription", schema.getSubscriptionType()],
  ] as const;
  const fields = roots.flatMap(([kind, type]) => Object.values(type?.getFields() ?? {}).map((field) => ({ kind, field })));

  it("the schema has root fields to walk", () => {
    expect(fields.length).toBeGreaterThan(40);
  });

  it.each(fields.filter(({ field }) => !PUBLIC_FIELDS.has(field.name)).map(({ kind, field }) => ({ name: `${kind} ${field.name}`, kind, field })))(
    "$name refuses a request without a key with 401 UNAUTHENTICATED",
    async ({ kind, field }) => {
      const { query, variables } = operationFor(kind, field);
      if (kind === "subscription") {
        const response = await fetch(cp.url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "text/event-stream" },
          body: JSON.stringify({ query, variables }),
        });
        expect(response.status).toBe(401);
        expect(await response.text()).toContain("UNAUTHENTICATED");
        return;
      }
      await unauthenticated(query, variables);
    },
  );
});
