// `me`: the caller's own user, so a client can learn who its key belongs to without knowing its id.
import { builder } from "../builder.ts";

builder.queryField("me", (t) =>
  t.prismaField({
    type: "User",
    description: "The user the presented API key belongs to.",
    // The root type already requires a caller, so `caller` is set here.
    resolve: (query, _root, _args, ctx) => ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: ctx.caller!.userId } }),
  }),
);
