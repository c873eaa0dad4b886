// Reading providers: the list (search, cursor pagination), one provider by id, and the supported kinds.
import { builder } from "../builder.ts";
import type { Prisma } from "../db/generated/prisma/client.ts";
import { isUuid } from "../validation.ts";
import { providerKinds } from "./provider-kinds.ts";

builder.queryFields((t) => ({
  providers: t.prismaConnection({
    type: "Provider",
    cursor: "id",
    description: "Providers ordered by name; `search` matches name, kind or base URL, case-insensitive.",
    args: { search: t.arg.string({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.provider.findMany({ ...query, where: providerSearch(args.search), orderBy: [{ name: "asc" }, { id: "asc" }] }),
    totalCount: (_conn, args, ctx) => ctx.prisma.provider.count({ where: providerSearch(args.search) }),
  }),
  provider: t.prismaField({
    type: "Provider",
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      isUuid(args.id) ? ctx.prisma.provider.findUnique({ ...query, where: { id: args.id } }) : null,
  }),
  providerKinds: t.stringList({
    description: "The values `kind` accepts on createProvider and updateProvider.",
    resolve: () => [...providerKinds],
  }),
}));

function providerSearch(search: string | null | undefined): Prisma.ProviderWhereInput | undefined {
  const term = search?.trim();
  if (!term) return undefined;
  return {
    OR: [
      { name: { contains: term, mode: "insensitive" } },
      { kind: { contains: term, mode: "insensitive" } },
      { baseUrl: { contains: term, mode: "insensitive" } },
    ],
  };
}
