// Builders and fast-check arbitraries for policy tests: a small universe so generated grants and routes collide often.
import fc from "fast-check";
import type {
  BudgetSource,
  LimitSource,
  PolicyGrant,
  PolicyModel,
  PolicyProvider,
  PolicyProviderAccess,
  PolicyRoute,
  PrincipalPolicyInput,
  Subject,
} from "../../../shared/policy/index.ts";
import { BUDGET_PERIODS } from "../../../shared/policy/index.ts";

export const user = (id: string, name = id): Subject => ({ kind: "user", id, name });
export const group = (id: string, name = id): Subject => ({ kind: "group", id, name });
export const apiKey = (id: string, name = id): Subject => ({ kind: "apiKey", id, name });

export const provider = (id: string, active = true): PolicyProvider => ({ id, name: `Provider ${id}`, active });

export function route(id: string, providerId: string, options: Partial<PolicyRoute> = {}): PolicyRoute {
  return { id, providerId, providerModelId: `${providerId}/${id}`, priority: 0, weight: 1, active: true, ...options };
}

export const model = (id: string, routes: PolicyRoute[], slug = id): PolicyModel => ({ id, slug, routes });

export function emptyInput(principal: Subject, overrides: Partial<PrincipalPolicyInput> = {}): PrincipalPolicyInput {
  return {
    principal,
    groups: [],
    grants: [],
    providerAccess: [],
    models: [],
    providers: [],
    limits: [],
    budgets: [],
    ...overrides,
  };
}

export const PRINCIPAL = user("u1", "Ada");
export const GROUPS = [group("g1", "Engineering"), group("g2", "Interns"), group("g3", "Research")];
// Belongs to neither the principal nor its groups: its rows must never count.
export const STRANGER = group("g9", "Someone else's group");
const SUBJECTS = [PRINCIPAL, ...GROUPS, STRANGER];
const PROVIDER_IDS = ["p1", "p2", "p3"];
const MODEL_IDS = ["m1", "m2", "m3", "m4"];

const providersArb = fc.tuple(...PROVIDER_IDS.map((id) => fc.boolean().map((active) => provider(id, active))));

const modelsArb = fc.tuple(
  ...MODEL_IDS.map((modelId) =>
    fc
      .uniqueArray(
        fc.record({
          providerId: fc.constantFrom(...PROVIDER_IDS),
          priority: fc.integer({ min: 0, max: 3 }),
          active: fc.boolean(),
          n: fc.integer({ min: 0, max: 99 }),
        }),
        { maxLength: 4, selector: (r) => r.n },
      )
      .map((rows) =>
        model(
          modelId,
          rows.map((r) => route(`${modelId}-r${r.n}`, r.providerId, { priority: r.priority, active: r.active })),
          `slug-${modelId}`,
        ),
      ),
  ),
);

export const grantArb: fc.Arbitrary<PolicyGrant> = fc.record({
  modelId: fc.constantFrom(...MODEL_IDS, "m-unknown"),
  subject: fc.constantFrom(...SUBJECTS),
});

export const providerAccessArb: fc.Arbitrary<PolicyProviderAccess> = fc.record({
  providerId: fc.constantFrom(...PROVIDER_IDS),
  level: fc.constantFrom("USER" as const, "MANAGER" as const),
  subject: fc.constantFrom(...SUBJECTS),
});

/** A principal's access input; groups are a random subset of GROUPS, rows may name any subject. */
export const accessInputArb: fc.Arbitrary<PrincipalPolicyInput> = fc
  .record({
    groups: fc.subarray(GROUPS),
    grants: fc.array(grantArb, { maxLength: 8 }),
    providerAccess: fc.array(providerAccessArb, { maxLength: 5 }),
    models: modelsArb,
    providers: providersArb,
  })
  .map((r) => emptyInput(PRINCIPAL, { ...r, models: [...r.models], providers: [...r.providers] }));

const limitValueArb = fc.option(fc.nat({ max: 1000 }), { nil: undefined }).chain((v) =>
  v === undefined ? fc.constantFrom(undefined, null) : fc.constant(v),
);

export const limitSourceArb: fc.Arbitrary<LimitSource> = fc.record({
  subject: fc.constantFrom(...SUBJECTS),
  limits: fc.record(
    { requestsPerMinute: limitValueArb, tokensPerMinute: limitValueArb, concurrentRequests: limitValueArb, requestsPerSecond: limitValueArb },
    { requiredKeys: [] },
  ),
});

export const budgetSourceArb: fc.Arbitrary<BudgetSource> = fc.record({
  subject: fc.constantFrom(...SUBJECTS),
  period: fc.constantFrom(...BUDGET_PERIODS),
  capMicros: fc.bigInt({ min: 0n, max: 100_000_000n }),
});
