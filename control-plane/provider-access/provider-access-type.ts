// The ProviderAccess type: USER (use every model routed to the provider) or MANAGER (also manage it).
import { builder } from "../builder.ts";
import { PolicySubjectRef, subjectOf, subjectSelect } from "../subjects/subject-type.ts";

export const AccessLevelEnum = builder.enumType("AccessLevel", { values: ["USER", "MANAGER"] as const });

builder.prismaObject("ProviderAccess", {
  fields: (t) => ({
    id: t.exposeID("id"),
    provider: t.relation("provider"),
    level: t.expose("level", { type: AccessLevelEnum }),
    user: t.relation("user", { nullable: true }),
    group: t.relation("group", { nullable: true }),
    virtualAccount: t.relation("virtualAccount", { nullable: true }),
    subject: t.field({
      type: PolicySubjectRef,
      description: "Who holds this access. Readable by the provider's managers, who cannot read other users' profiles.",
      select: { ...subjectSelect },
      resolve: (row) => subjectOf(row),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
