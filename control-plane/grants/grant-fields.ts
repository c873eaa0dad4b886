// Grants as seen from their subjects (User, Group, VirtualAccount) and from the granted Model; each one join, never N+1.
import { builder } from "../builder.ts";

const bySlug = { orderBy: { model: { slug: "asc" as const } } };
const description = "Models granted directly to this subject (not through groups or provider access).";

builder.prismaObjectFields("User", (t) => ({
  grants: t.relation("grants", { description, query: bySlug }),
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
