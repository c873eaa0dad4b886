// Loads everything one principal's policy depends on in a fixed number of queries, as plain data for shared/policy.
import { limitValuesOf, type PolicyModel, type PrincipalPolicyInput, type Subject } from "../../shared/policy/index.ts";
import type { Db } from "../db/client.ts";

export type PrincipalRef = { kind: "user"; id: string } | { kind: "virtualAccount"; id: string };

export interface LoadedPolicyInput {
  input: PrincipalPolicyInput;
  active: boolean;
  /** Display details the policy rules do not need but answers do. */
  models: Map<string, { displayName: string; kind: string }>;
  providerNames: Map<string, string>;
}

export async function loadPolicyInput(prisma: Db, ref: PrincipalRef): Promise<LoadedPolicyInput | null> {
  const principal = await loadPrincipal(prisma, ref);
  if (!principal) return null;
  const { subject, groups, active } = principal;
  const groupIds = groups.map((g) => g.id);
  const owner = ref.kind === "user" ? { OR: [{ userId: ref.id }, { groupId: { in: groupIds } }] } : { virtualAccountId: ref.id };

  const [grants, access, limits, budgets] = await Promise.all([
    prisma.modelGrant.findMany({ where: owner, select: { modelId: true, userId: true, groupId: true, virtualAccountId: true } }),
    prisma.providerAccess.findMany({ where: owner, select: { providerId: true, level: true, userId: true, groupId: true, virtualAccountId: true } }),
    prisma.rateLimit.findMany({ where: owner }),
    prisma.budget.findMany({ where: owner }),
  ]);

  const providerIds = [...new Set(access.map((a) => a.providerId))];
  const models = await prisma.model.findMany({
    where: {
      OR: [
        { id: { in: [...new Set(grants.map((g) => g.modelId))] } },
        { routes: { some: { providerModel: { providerId: { in: providerIds } } } } },
      ],
    },
    select: {
      id: true,
      slug: true,
      displayName: true,
      kind: true,
      routes: {
        select: {
          id: true,
          priority: true,
          weight: true,
          status: true,
          providerModel: { select: { id: true, provider: { select: { id: true, name: true, status: true } } } },
        },
      },
    },
  });

  const names = new Map<string, Subject>([subject, ...groups].map((s) => [s.id, s]));
  const subjectOf = (row: { userId: string | null; groupId: string | null; virtualAccountId: string | null }): Subject =>
    names.get((row.userId ?? row.groupId ?? row.virtualAccountId)!)!;

  const providers = new Map<string, { id: string; name: string; active: boolean }>();
  const policyModels: PolicyModel[] = models.map((m) => ({
    id: m.id,
    slug: m.slug,
    routes: m.routes.map((r) => {
      const p = r.providerModel.provider;
      providers.set(p.id, { id: p.id, name: p.name, active: p.status === "ACTIVE" });
      return { id: r.id, providerId: p.id, providerModelId: r.providerModel.id, priority: r.priority, weight: r.weight, active: r.status === "ACTIVE" };
    }),
  }));
  // Provider access to a provider with no routes still names that provider in answers.
  const missing = providerIds.filter((id) => !providers.has(id));
  if (missing.length > 0) {
    for (const p of await prisma.provider.findMany({ where: { id: { in: missing } }, select: { id: true, name: true, status: true } })) {
      providers.set(p.id, { id: p.id, name: p.name, active: p.status === "ACTIVE" });
    }
  }

  // The principal's own limits and budgets come first so a tie names the principal as the source.
  const ownFirst = <T extends { groupId: string | null }>(rows: T[]) => [...rows].sort((a, b) => Number(a.groupId !== null) - Number(b.groupId !== null));

  return {
    active,
    models: new Map(models.map((m) => [m.id, { displayName: m.displayName, kind: m.kind }])),
    providerNames: new Map([...providers.values()].map((p) => [p.id, p.name])),
    input: {
      principal: subject,
      groups,
      grants: grants.map((g) => ({ modelId: g.modelId, subject: subjectOf(g) })),
      providerAccess: access.map((a) => ({ providerId: a.providerId, level: a.level, subject: subjectOf(a) })),
      models: policyModels,
      providers: [...providers.values()],
      limits: ownFirst(limits).map((l) => ({
        subject: subjectOf(l),
        limits: limitValuesOf(l),
      })),
      budgets: ownFirst(budgets).map((b) => ({ subject: subjectOf(b), period: b.period, capMicros: b.capMicros })),
    },
  };
}

async function loadPrincipal(prisma: Db, ref: PrincipalRef): Promise<{ subject: Subject; groups: Subject[]; active: boolean } | null> {
  if (ref.kind === "virtualAccount") {
    const account = await prisma.virtualAccount.findUnique({ where: { id: ref.id }, select: { id: true, name: true, status: true } });
    if (!account) return null;
    return { subject: { kind: "virtualAccount", id: account.id, name: account.name }, groups: [], active: account.status === "ACTIVE" };
  }
  const user = await prisma.user.findUnique({
    where: { id: ref.id },
    select: { id: true, email: true, status: true, memberships: { select: { group: { select: { id: true, name: true } } }, orderBy: { group: { name: "asc" } } } },
  });
  if (!user) return null;
  return {
    subject: { kind: "user", id: user.id, name: user.email },
    groups: user.memberships.map((m) => ({ kind: "group", id: m.group.id, name: m.group.name })),
    active: user.status === "ACTIVE",
  };
}
