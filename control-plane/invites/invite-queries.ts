// Reading invites: newest first, optionally by status.
import { builder } from "../builder.ts";
import { InviteStatusEnum, inviteStatusWhere } from "./invite-type.ts";
import { pagedQuery } from "../db/paged-query.ts";

builder.queryFields((t) => ({
  invites: t.prismaConnection({
    type: "Invite",
    cursor: "id",
    description: "Invites, newest first; `status` keeps only PENDING, ACCEPTED or EXPIRED ones.",
    authScopes: { orgAdmin: true },
    args: { status: t.arg({ type: InviteStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.invite.findMany({
        ...pagedQuery(query),
        where: args.status ? inviteStatusWhere(args.status) : undefined,
        orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      }),
    totalCount: (_conn, args, ctx) => ctx.prisma.invite.count({ where: args.status ? inviteStatusWhere(args.status) : undefined }),
  }),
}));
