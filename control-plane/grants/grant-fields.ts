// Grants as seen from their subjects (User, Group, VirtualAccount) and from the granted Model; never N+1.
import { batchedQueryLoad, type BatchLoader, listsBy, ownFieldsAnd } from "../batched-load.ts";
import { builder } from "../builder.ts";
import type { Db } from "../db/client.ts";
import type { Model, ModelGrant, Prisma } from "../db/generated/prisma/client.ts";

const bySlug = { orderBy: { model: { slug: "asc" as const } } };
const description = "Models granted directly to this subject (not through groups or provider access).";

type GrantQuery = { include?: Prisma.ModelGrantInclude; select?: Prisma.ModelGrantSelect };

/**
 * Each user's grants by model slug, for every user a request shows: the users page's heaviest column (~9 grants a
 * user). For the selections a page makes (the grant, and its model's own fields) two plain statements on the pool
 * load them (db/pool-rows.ts); Prisma's nested load of the same rows cost about twice the control-plane CPU. Any other
 * selection goes to Prisma as planned.
 */
const grantsOfUsers: BatchLoader<ModelGrant[], GrantQuery> = async (prisma, ids, query) => {
  const grants = ownFieldsAnd(query, "model") ? await plainGrants(prisma, ids, query.include?.model === true) : await plannedGrants(prisma, ids, query);
  return listsBy(grants, (g) => g.userId!);
};

async function plainGrants(prisma: Db, ids: string[], withModels: boolean): Promise<ModelGrant[]> {
  const grants = await prisma.$rows<ModelGrant & { model?: Model }>(
    `SELECT g.* FROM "ModelGrant" g JOIN "Model" m ON m."id" = g."modelId" WHERE g."userId" = ANY($1::uuid[]) ORDER BY m."slug"`,
    [ids],
  );
  if (!withModels) return grants;
  // Asked even when no user holds a grant, so a page costs the same statements whatever it holds.
  const models = await prisma.$rows<Model>(`SELECT * FROM "Model" WHERE "id" = ANY($1::uuid[])`, [[...new Set(grants.map((g) => g.modelId))]]);
  const byId = new Map(models.map((m) => [m.id, m]));
  // The rows are this load's own: each takes its model in place rather than as a copy.
  for (const grant of grants) grant.model = byId.get(grant.modelId);
  return grants;
}

async function plannedGrants(prisma: Db, ids: string[], query: GrantQuery): Promise<ModelGrant[]> {
  const selection = query.select ? { select: { ...query.select, userId: true } } : query;
  return (await prisma.modelGrant.findMany({ ...(selection as object), where: { userId: { in: ids } }, ...bySlug })) as ModelGrant[];
}

builder.prismaObjectFields("User", (t) => ({
  grants: t.prismaField({
    type: ["ModelGrant"],
    description,
    resolve: async (query, user, _args, ctx) => (await batchedQueryLoad(ctx, grantsOfUsers, user.id, query)) ?? [],
  }),
}));

// A member may see their group, but not what it holds: that is for admins.
builder.prismaObjectFields("Group", (t) => ({
  grants: t.relation("grants", { description, query: bySlug, authScopes: { orgAdmin: true } }),
}));

builder.prismaObjectFields("VirtualAccount", (t) => ({
  grants: t.relation("grants", { description, query: bySlug }),
}));

builder.prismaObjectFields("Model", (t) => ({
  // Who else holds a model is for admins, even when the caller may use the model.
  grants: t.relation("grants", {
    authScopes: { orgAdmin: true },
    description: "Users, groups and virtual accounts this model is granted to directly.",
    query: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
  }),
}));
