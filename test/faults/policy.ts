// Policy for the fault suites, set the way an admin would: through the control plane's GraphQL API.
import { type TestStack, createMockModel, memberWithInferenceKey } from "../support/stack.ts";

export interface Member {
  userId: string;
  keyId: string;
  secret: string;
}

export interface MemberLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  concurrentRequests?: number;
  /** Daily cap in decimal USD, e.g. "1000". */
  dailyBudget?: string;
}

/** A member with an inference key, granted `modelId` (unless null), with the given limits on the user. */
export async function member(stack: TestStack, modelId: string | null, limits: MemberLimits = {}): Promise<Member> {
  const m = await memberWithInferenceKey(stack);
  if (modelId !== null) await grant(stack, modelId, m.userId);
  const { dailyBudget, ...rate } = limits;
  if (Object.keys(rate).length > 0) {
    await stack.cp.ok(`mutation ($input: SetRateLimitInput!) { setRateLimit(input: $input) { __typename } }`, {
      input: { subject: { userId: m.userId }, ...rate },
    });
  }
  if (dailyBudget !== undefined) {
    await stack.cp.ok(`mutation ($input: SetBudgetInput!) { setBudget(input: $input) { __typename } }`, {
      input: { subject: { userId: m.userId }, period: "DAILY", cap: dailyBudget },
    });
  }
  return m;
}

export async function grant(stack: TestStack, modelId: string, userId: string): Promise<void> {
  const { grantModel } = await stack.cp.ok(
    `mutation ($input: GrantModelInput!) { grantModel(input: $input) { __typename ... on Error { code message } } }`,
    { input: { modelId, subject: { userId } } },
  );
  if (grantModel.__typename !== "ModelGrant") throw new Error(`grantModel: ${JSON.stringify(grantModel)}`);
}

export async function revokeKey(stack: TestStack, keyId: string): Promise<void> {
  await stack.cp.ok(`mutation ($id: ID!) { revokeApiKey(id: $id) { __typename } }`, { id: keyId });
}

/** A model on an Anthropic-kind provider at the mock (createMockModel makes OpenAI-kind ones). */
export async function createAnthropicMockModel(stack: TestStack, upstreamModel: string): Promise<{ modelId: string; slug: string }> {
  return modelWithRoutes(stack, "anthropic", [upstreamModel]);
}

/**
 * A model whose routes, tried in this order (priority 0, 1, …), go to these upstream models of one provider of
 * `kind` at the mock (the mock reads its behaviour from the upstream name); prices $1/M input, $2/M output.
 */
export async function modelWithRoutes(
  stack: TestStack,
  kind: "openai" | "anthropic",
  upstreamModels: string[],
): Promise<{ modelId: string; slug: string; providerModelIds: string[] }> {
  const { cp, mock } = stack;
  const suffix = Math.random().toString(36).slice(2, 10);
  const { createProvider: provider } = await cp.ok(
    `mutation ($input: CreateProviderInput!) { createProvider(input: $input) { ... on Provider { id } ... on Error { code message } } }`,
    { input: { name: `${kind}-mock-${suffix}`, kind, baseUrl: kind === "anthropic" ? mock.url : `${mock.url}/v1`, credentials: "sk-upstream" } },
  );
  const { createModel: model } = await cp.ok(
    `mutation ($input: CreateModelInput!) { createModel(input: $input) { ... on Model { id } ... on Error { code message } } }`,
    { input: { slug: `${kind}-${suffix}`, displayName: kind } },
  );
  const providerModelIds: string[] = [];
  for (const [priority, upstreamName] of upstreamModels.entries()) {
    const { addProviderModel: pm } = await cp.ok(
      `mutation ($input: AddProviderModelInput!) { addProviderModel(input: $input) { ... on ProviderModel { id } ... on Error { code message } } }`,
      { input: { providerId: provider.id, upstreamName, inputPricePerMTok: "1.00", outputPricePerMTok: "2.00" } },
    );
    await cp.ok(`mutation ($input: AddModelRouteInput!) { addModelRoute(input: $input) { ... on Model { id } } }`, {
      input: { modelId: model.id, providerModelId: pm.id, priority },
    });
    providerModelIds.push(pm.id);
  }
  return { modelId: model.id, slug: `${kind}-${suffix}`, providerModelIds };
}

export { createMockModel };
