// The ModelGrant type: a model facade granted to one user, group or virtual account (allow-only).
import { builder } from "../builder.ts";

builder.prismaObject("ModelGrant", {
  fields: (t) => ({
    id: t.exposeID("id"),
    model: t.relation("model"),
    user: t.relation("user", { nullable: true }),
    group: t.relation("group", { nullable: true }),
    virtualAccount: t.relation("virtualAccount", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
