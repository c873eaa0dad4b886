// Reading models: the model picker (search by slug or display name, filter by kind), one model by id or slug.
import { builder } from "../builder.ts";
import { textSearch } from "../text-search.ts";
import type { ModelKind, Prisma } from "../db/generated/prisma/client.ts";
import { isUuid } from "../validation.ts";
import { ModelKindEnum } from "./model-type.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  models: t.prismaConnection({
    type: "Model",
    cursor: "id",
    authScopes: { orgAdmin: true },
    description: "Models ordered by slug; `search` matches slug or display name, case-insensitive; `kind` narrows to one kind.",
    args: { search: t.arg.string({ required: false }), kind: t.arg({ type: ModelKindEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.model.findMany({ ...pagedQuery(query), where: modelFilter(args.search, args.kind), orderBy: [{ slug: "asc" }, { id: "asc" }] }),
    totalCount: (_conn, args, ctx) => ctx.prisma.model.count({ where: modelFilter(args.search, args.kind) }),
  }),
  model: t.prismaField({
    type: "Model",
    nullable: true,
    authScopes: { orgAdmin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => (isUuid(args.id) ? ctx.prisma.model.findUnique({ ...query, where: { id: args.id } }) : null),
  }),
  modelBySlug: t.prismaField({
    type: "Model",
    nullable: true,
    description: "The model clients reach by this exact slug, or null.",
    authScopes: { orgAdmin: true },
    args: { slug: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.model.findUnique({ ...query, where: { slug: args.slug.trim() } }),
  }),
}));

function modelFilter(search: string | null | undefined, kind: ModelKind | null | undefined): Prisma.ModelWhereInput {
  return { ...(kind ? { kind } : {}), ...textSearch(search, ["slug", "displayName"] as const) };
}
