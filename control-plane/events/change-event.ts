// The event every committed control-plane change publishes: subscriptions and (later) data planes follow it.
export const changeKinds = ["USER", "GROUP", "MEMBERSHIP", "GRANT", "PROVIDER_ACCESS", "LIMIT", "BUDGET", "PROVIDER", "MODEL", "VIRTUAL_ACCOUNT", "API_KEY", "INVITE"] as const;
export type ChangeKind = (typeof changeKinds)[number];

export interface ChangeEvent {
  kind: ChangeKind;
  /** The audit action, e.g. `group.create`. */
  action: string;
  targetType: string;
  targetId: string;
  /** Policy version after this change (a decimal string: it is a bigint). Gaps mean a missed event. */
  version: string;
  at: string;
  /** The audit event this change wrote (a decimal string). */
  auditId: string;
  /** rateLimit.set and budget.set: the caps they wrote, so a data plane can apply a lowered one before it re-reads. */
  caps?: ChangedCaps;
  /** grant.revoke: what the deleted grant gave to whom, so a data plane can withdraw it before it re-reads. */
  revokedGrant?: { subject: ChangeSubject; modelId: string };
  /** providerAccess.remove: whose access to which provider went, so a data plane can withdraw it before it re-reads. */
  removedAccess?: { subject: ChangeSubject; providerId: string };
}

/** Whom a limit, budget or grant belongs to (the audit label's type and id). */
export interface ChangeSubject {
  type: "User" | "Group" | "VirtualAccount";
  id: string;
}

export interface ChangedCaps {
  subject: ChangeSubject;
  /** rateLimit.set: the dimensions this change wrote (null: that cap removed). */
  limits?: Partial<Record<"requestsPerMinute" | "requestsPerSecond" | "tokensPerMinute" | "concurrentRequests", number | null>>;
  /** budget.set: the period's cap as stored after the change, micro-dollars as a decimal string (it is a bigint). */
  budget?: { period: string; capMicros: string };
}
