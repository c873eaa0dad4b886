// What a batch of change events touches, read from each event's target: the principals (or the rows that lead to
// them) whose entries must be rebuilt. Catalogue changes, and anything this file does not know, need a full rebuild.
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";

export interface ChangeTargets {
  userIds: Set<string>;
  virtualAccountIds: Set<string>;
  /** Every member of these groups. */
  groupIds: Set<string>;
  /** The owners of these keys, grants, provider-access rows and invites. */
  keyIds: Set<string>;
  grantIds: Set<string>;
  accessIds: Set<string>;
  inviteIds: Set<string>;
  /** The audit events of the grant and provider-access changes, by target: a deleted row's owner is in them. */
  auditIds: Map<string, bigint[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Providers, provider models, models and routes shape every principal's routes: those changes rebuild it all. */
const CATALOGUE = new Set(["Provider", "ProviderModel", "Model", "ModelRoute"]);

/** null: the batch needs a full rebuild. */
export function changeTargets(events: readonly ChangeEvent[]): ChangeTargets | null {
  const targets: ChangeTargets = {
    userIds: new Set(),
    virtualAccountIds: new Set(),
    groupIds: new Set(),
    keyIds: new Set(),
    grantIds: new Set(),
    accessIds: new Set(),
    inviteIds: new Set(),
    auditIds: new Map(),
  };
  const byType: Record<string, Set<string>> = {
    User: targets.userIds,
    VirtualAccount: targets.virtualAccountIds,
    Group: targets.groupIds,
    ApiKey: targets.keyIds,
    ModelGrant: targets.grantIds,
    ProviderAccess: targets.accessIds,
    Invite: targets.inviteIds,
  };
  for (const event of events) {
    if (CATALOGUE.has(event.targetType)) return null;
    const set = byType[event.targetType];
    // An id that cannot name a row means an event this version does not understand: rebuild rather than guess.
    if (!set || !UUID.test(event.targetId)) return null;
    set.add(event.targetId);
    if ((set === targets.grantIds || set === targets.accessIds) && /^\d+$/.test(event.auditId)) {
      const ids = targets.auditIds.get(event.targetId);
      if (ids) ids.push(BigInt(event.auditId));
      else targets.auditIds.set(event.targetId, [BigInt(event.auditId)]);
    }
  }
  return targets;
}
