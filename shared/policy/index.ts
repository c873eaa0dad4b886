// Public API of the policy rules: pure functions shared by the control plane and the data plane.
export { canManageProvider, effectiveModelAccess, routesForModel, type ModelAccessInput } from "./access.ts";
export { admitsSpend, budgetWindow, effectiveBudgets, type SpendAdmission } from "./budgets.ts";
export { effectivePolicy } from "./effective.ts";
export { effectiveLimits, limitValuesOf } from "./limits.ts";
export { narrowForKey } from "./narrowing.ts";
export { describeSubject, sameSubject } from "./subjects.ts";
export { BUDGET_PERIODS, LIMIT_DIMENSIONS } from "./types.ts";
export type {
  AccessReason,
  BudgetPeriod,
  BudgetSource,
  EffectiveBudget,
  EffectiveBudgets,
  EffectiveLimit,
  EffectiveLimits,
  EffectivePolicy,
  KeyNarrowing,
  LimitDimension,
  LimitSource,
  LimitValues,
  ModelAccess,
  PolicyGrant,
  PolicyModel,
  PolicyProvider,
  PolicyProviderAccess,
  PolicyRoute,
  PrincipalPolicyInput,
  ProviderAccessLevel,
  Subject,
  SubjectKind,
} from "./types.ts";
