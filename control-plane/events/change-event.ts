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
}
