// Reads, in one REPEATABLE READ transaction, the rows of only the principals a batch of changes touches: first whom
// the changed keys, grants, provider access, invites and groups belong to (a deleted grant's or access row's owner from
// its change's audit event, written in the same transaction as the delete), then those principals' keys, memberships,
// groups, grants, access, limits and budgets, in the same shape the full load gives (load-policy-rows.ts).
import type { Db, Tx } from "../../control-plane/db/client.ts";
import { Prisma } from "../../control-plane/db/generated/prisma/client.ts";
import type { ChangeTargets } from "./change-targets.ts";
import { accessColumns, budgetColumns, grantColumns, keyColumns, LOAD_TIMEOUT_MS, limitColumns, ownerColumns, type PrincipalRows } from "./load-policy-rows.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

export interface ChangedRows {
  /** The stored policy version these rows were read at (at least the version of the batch's last event). */
  version: bigint;
  /** `u:<id>` / `v:<id>`: principals whose entries `rows` replace (those without rows any more are dropped). */
  owners: Set<string>;
  rows: PrincipalRows;
}

interface Owned {
  userId: string | null;
  groupId: string | null;
  virtualAccountId: string | null;
}

/** null: something cannot be traced to its principals (a key row gone, an audit event without a subject), so only a full rebuild is safe. */
export async function loadChangedRows(prisma: Db, targets: ChangeTargets, index: SnapshotIndex): Promise<ChangedRows | null> {
  return prisma.$transaction(
    async (tx) => {
      const version = (await tx.policyVersion.findUnique({ where: { id: 1 }, select: { version: true } }))?.version ?? 0n;
      const users = new Set(targets.userIds);
      const accounts = new Set(targets.virtualAccountIds);
      const groups = new Set(targets.groupIds);
      const addOwner = (row: Owned) => {
        if (row.userId) users.add(row.userId);
        else if (row.groupId) groups.add(row.groupId);
        else if (row.virtualAccountId) accounts.add(row.virtualAccountId);
      };
      if (targets.keyIds.size > 0) {
        const keys = await tx.apiKey.findMany({ where: { id: { in: [...targets.keyIds] } }, select: { userId: true, virtualAccountId: true } });
        if (keys.length < targets.keyIds.size) return null;
        for (const key of keys) addOwner({ ...key, groupId: null });
      }
      const gone = [
        ...(await traceRows(targets.grantIds, (ids) => tx.modelGrant.findMany({ where: { id: { in: ids } }, select: { id: true, ...ownerColumns } }), addOwner)),
        ...(await traceRows(targets.accessIds, (ids) => tx.providerAccess.findMany({ where: { id: { in: ids } }, select: { id: true, ...ownerColumns } }), addOwner)),
      ];
      if (gone.length > 0) {
        const auditIds = gone.flatMap((id) => targets.auditIds.get(id) ?? []);
        const audits = await tx.auditEvent.findMany({ where: { id: { in: auditIds } }, select: { targetId: true, before: true, after: true } });
        for (const id of gone) {
          const owners = audits.filter((a) => a.targetId === id).map((a) => subjectOf(a.before) ?? subjectOf(a.after));
          if (owners.length === 0 || owners.some((o) => o === null)) return null;
          for (const owner of owners) addOwner(owner!);
        }
      }
      if (targets.inviteIds.size > 0) {
        const invites = await tx.invite.findMany({ where: { id: { in: [...targets.inviteIds] } }, select: { userId: true } });
        for (const invite of invites) if (invite.userId) users.add(invite.userId);
      }
      if (groups.size > 0) {
        // Members now (added ones) and members the snapshot holds (removed ones, or all of a deleted group).
        const members = await tx.groupMembership.findMany({ where: { groupId: { in: [...groups] } }, select: { userId: true } });
        for (const m of members) users.add(m.userId);
        for (const groupId of groups) for (const userId of index.membersOfGroup.get(groupId) ?? []) users.add(userId);
      }

      const owners = new Set([...[...users].map((id) => `u:${id}`), ...[...accounts].map((id) => `v:${id}`)]);
      return { version, owners, rows: await loadPrincipalRows(tx, [...users], [...accounts]) };
    },
    { isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead, timeout: LOAD_TIMEOUT_MS, maxWait: 10_000 },
  );
}

/** The `subject` label grant and provider-access changes put in their audit event (control-plane/subjects/subject.ts). */
function subjectOf(snapshot: unknown): Owned | null {
  const subject = (snapshot as { subject?: { type?: unknown; id?: unknown } } | null)?.subject;
  if (typeof subject?.id !== "string") return null;
  if (subject.type === "User") return { userId: subject.id, groupId: null, virtualAccountId: null };
  if (subject.type === "Group") return { userId: null, groupId: subject.id, virtualAccountId: null };
  if (subject.type === "VirtualAccount") return { userId: null, groupId: null, virtualAccountId: subject.id };
  return null;
}

/** Adds the owner of every row found; returns the ids not found. */
async function traceRows(ids: Set<string>, find: (ids: string[]) => Promise<(Owned & { id: string })[]>, addOwner: (row: Owned) => void): Promise<string[]> {
  if (ids.size === 0) return [];
  const found = await find([...ids]);
  for (const row of found) addOwner(row);
  const foundIds = new Set(found.map((row) => row.id));
  return [...ids].filter((id) => !foundIds.has(id));
}

/** The full load's rows (same filters: live keys of active owners, and what those owners hold), for some principals. */
async function loadPrincipalRows(tx: Tx, userIds: string[], accountIds: string[]): Promise<PrincipalRows> {
  const empty: PrincipalRows = { keys: [], users: [], memberships: [], virtualAccounts: [], groups: [], grants: [], providerAccess: [], rateLimits: [], budgets: [] };
  const keyOwners: Prisma.ApiKeyWhereInput[] = [];
  if (userIds.length > 0) keyOwners.push({ userId: { in: userIds }, user: { status: "ACTIVE" } });
  if (accountIds.length > 0) keyOwners.push({ virtualAccountId: { in: accountIds }, virtualAccount: { status: "ACTIVE" } });
  if (keyOwners.length === 0) return empty;
  const keys = await tx.apiKey.findMany({ where: { revokedAt: null, OR: keyOwners }, select: keyColumns });
  if (keys.length === 0) return empty;
  const liveUsers = [...new Set(keys.flatMap((k) => (k.userId ? [k.userId] : [])))];
  const liveAccounts = [...new Set(keys.flatMap((k) => (k.virtualAccountId ? [k.virtualAccountId] : [])))];
  const memberships = liveUsers.length > 0 ? await tx.groupMembership.findMany({ where: { userId: { in: liveUsers } }, select: { userId: true, groupId: true } }) : [];
  const groupIds = [...new Set(memberships.map((m) => m.groupId))];
  // Rows held by these users, their groups or these accounts (one filter shape fits the four owned tables).
  const holders: Array<{ userId: { in: string[] } } | { groupId: { in: string[] } } | { virtualAccountId: { in: string[] } }> = [];
  if (liveUsers.length > 0) holders.push({ userId: { in: liveUsers } });
  if (groupIds.length > 0) holders.push({ groupId: { in: groupIds } });
  if (liveAccounts.length > 0) holders.push({ virtualAccountId: { in: liveAccounts } });
  const keyIds = keys.map((k) => k.id);
  const [users, virtualAccounts, groups, grants, providerAccess, rateLimits, budgets] = await Promise.all([
    liveUsers.length > 0 ? tx.user.findMany({ where: { id: { in: liveUsers } }, select: { id: true, email: true } }) : [],
    liveAccounts.length > 0 ? tx.virtualAccount.findMany({ where: { id: { in: liveAccounts } }, select: { id: true, name: true } }) : [],
    groupIds.length > 0 ? tx.group.findMany({ where: { id: { in: groupIds } }, select: { id: true, name: true } }) : [],
    tx.modelGrant.findMany({ where: { OR: holders }, select: grantColumns }),
    tx.providerAccess.findMany({ where: { OR: holders }, select: accessColumns }),
    tx.rateLimit.findMany({ where: { OR: [...holders, { apiKeyId: { in: keyIds } }] }, select: limitColumns }),
    tx.budget.findMany({ where: { OR: [...holders, { apiKeyId: { in: keyIds } }] }, select: budgetColumns }),
  ]);
  return { keys, users, memberships, virtualAccounts, groups, grants, providerAccess, rateLimits, budgets };
}
