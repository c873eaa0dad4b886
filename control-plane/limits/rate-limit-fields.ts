// The `rateLimit` field on User, Group and VirtualAccount: the subject's own limit row, loaded in the same query.
import { builder } from "../builder.ts";

const description = "This subject's own rate limit (null: none). The effective limit is the strictest over the user and its groups.";

builder.prismaObjectFields("User", (t) => ({
  rateLimit: t.relation("rateLimit", { nullable: true, description }),
}));

// A member may see their group, but not what it holds: that is for admins.
builder.prismaObjectFields("Group", (t) => ({
  rateLimit: t.relation("rateLimit", {
    nullable: true,
    authScopes: { orgAdmin: true },
    description: "The group's rate limit (null: none); it caps each member separately, it is not a shared pool.",
  }),
}));

builder.prismaObjectFields("VirtualAccount", (t) => ({
  rateLimit: t.relation("rateLimit", { nullable: true, description }),
}));
