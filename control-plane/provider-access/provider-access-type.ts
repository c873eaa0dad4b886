// The ProviderAccess type: USER (use every model routed to the provider) or MANAGER (also manage it).
import { builder } from "../builder.ts";

export const AccessLevelEnum = builder.enumType("AccessLevel", { values: ["USER", "MANAGER"] as const });

builder.prismaObject("ProviderAccess", {
  fields: (t) => ({
    id: t.exposeID("id"),
    provider: t.relation("provider"),
    level: t.expose("level", { type: AccessLevelEnum }),
    user: t.relation("user", { nullable: true }),
    group: t.relation("group", { nullable: true }),
    virtualAccount: t.relation("virtualAccount", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
