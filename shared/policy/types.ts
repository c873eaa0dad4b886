// Plain data the policy functions read and return: who, what they may use, and how much (DESIGN.md "Policy rules").

export type SubjectKind = "user" | "group" | "virtualAccount" | "apiKey";

/** Anyone a grant, limit or budget can be attached to; `name` is carried so reasons read well without a lookup. */
export type Subject = { kind: SubjectKind; id: string; name: string };

export type PolicyProvider = { id: string; name: string; active: boolean };

export type PolicyRoute = {
  id: string;
  providerId: string;
  providerModelId: string;
  priority: number;
  weight: number;
  active: boolean;
};

/** A model facade: what grants point at; its routes lead to provider models. */
export type PolicyModel = { id: string; slug: string; routes: PolicyRoute[] };

/** A grant of a model facade to the principal itself or to one of its groups. */
export type PolicyGrant = { modelId: string; subject: Subject };

export type ProviderAccessLevel = "USER" | "MANAGER";

export type PolicyProviderAccess = { providerId: string; level: ProviderAccessLevel; subject: Subject };

// The lists are the single source of the unions below, so code that walks every dimension or period cannot miss one.
// requestsPerSecond is a burst limit over a sliding second; it caps alongside requestsPerMinute, it does not replace it.
export const LIMIT_DIMENSIONS = ["requestsPerMinute", "tokensPerMinute", "concurrentRequests", "requestsPerSecond"] as const;
export type LimitDimension = (typeof LIMIT_DIMENSIONS)[number];

/** null or absent = no limit in that dimension; 0 = nothing allowed. */
export type LimitValues = Partial<Record<LimitDimension, number | null>>;

export type LimitSource = { subject: Subject; limits: LimitValues };

export const BUDGET_PERIODS = ["DAILY", "WEEKLY", "MONTHLY", "TOTAL"] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** Money is integer micro-dollars as bigint, never a float. */
export type BudgetSource = { subject: Subject; period: BudgetPeriod; capMicros: bigint };

/** Everything needed to decide one principal's policy; the caller loads only rows that concern it. */
export type PrincipalPolicyInput = {
  principal: Subject;
  groups: Subject[];
  grants: PolicyGrant[];
  providerAccess: PolicyProviderAccess[];
  models: PolicyModel[];
  providers: PolicyProvider[];
  limits: LimitSource[];
  budgets: BudgetSource[];
};

export type AccessReason =
  | { kind: "grant"; via: Subject }
  | { kind: "providerAccess"; via: Subject; providerId: string; providerName: string; level: ProviderAccessLevel };

/** `routes` = routes usable for requests, sorted by priority ascending then id. */
export type ModelAccess = { model: PolicyModel; reasons: AccessReason[]; routes: PolicyRoute[] };

export type EffectiveLimit = { value: number; source: Subject };
export type EffectiveLimits = Partial<Record<LimitDimension, EffectiveLimit>>;

export type EffectiveBudget = { period: BudgetPeriod; capMicros: bigint; source: Subject };
export type EffectiveBudgets = Partial<Record<BudgetPeriod, EffectiveBudget>>;

export type EffectivePolicy = {
  principal: Subject;
  /** Sorted by slug. */
  models: ModelAccess[];
  limits: EffectiveLimits;
  budgets: EffectiveBudgets;
};

/** What an API key adds on top of its owner's policy; it can only take away. */
export type KeyNarrowing = {
  keySubject: Subject;
  /** Empty = no narrowing by model. */
  modelSlugs: string[];
  limits?: LimitValues;
  budgets?: { period: BudgetPeriod; capMicros: bigint }[];
};
