// Reading providers: the list (search, cursor pagination), one provider by id, and the supported kinds.
import { managedProviderIds } from "../auth/auth-scopes.ts";
import { isOrgAdmin } from "../auth/caller.ts";
import { builder } from "../builder.ts";
import { textSearch } from "../text-search.ts";
import type { Context } from "../context.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";
import { isUuid } from "../validation.ts";
import { providerKinds } from "./provider-kinds.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  providers: t.prismaConnection({
    type: "Provider",
    cursor: "id",
    description:
      "Providers ordered by name; `search` matches name, kind or base URL, case-insensitive. " +
      "Admins see every provider, anyone else only the providers they manage.",
    args: { search: t.arg.string({ required: false }) },
    resolve: async (query, _root, args, ctx) =>
      ctx.prisma.provider.findMany({ ...pagedQuery(query), where: await visibleProviders(ctx, args.search), orderBy: [{ name: "asc" }, { id: "asc" }] }),
    totalCount: async (_conn, args, ctx) => ctx.prisma.provider.count({ where: await visibleProviders(ctx, args.search) }),
  }),
  provider: t.prismaField({
    type: "Provider",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ orgAdmin: true, providerManager: args.id }),
    resolve: (query, _root, args, ctx) =>
      isUuid(args.id) ? ctx.prisma.provider.findUnique({ ...query, where: { id: args.id } }) : null,
  }),
  providerKinds: t.stringList({
    description: "The values `kind` accepts on createProvider and updateProvider.",
    resolve: () => [...providerKinds],
  }),
}));

/** A list is filtered rather than refused: a manager sees their own providers, someone managing none an empty list. */
async function visibleProviders(ctx: Context, search: string | null | undefined): Promise<Prisma.ProviderWhereInput> {
  const matching = textSearch(search, ["name", "kind", "baseUrl"] as const);
  if (isOrgAdmin(ctx.caller)) return matching;
  return { AND: [matching, { id: { in: [...(await managedProviderIds(ctx))] } }] };
}
