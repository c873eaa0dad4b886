// Provider access as seen from its subjects (User, Group, VirtualAccount) and from the Provider; each one join, never N+1.
import { builder } from "../builder.ts";

const byProviderName = { orderBy: { provider: { name: "asc" as const } } };
const description = "Providers this subject may use (USER) or also manage (MANAGER), given directly to it.";

builder.prismaObjectFields("User", (t) => ({
  providerAccess: t.relation("providerAccess", { description, query: byProviderName }),
}));

// A member may see their group, but not what it holds: that is for admins.
builder.prismaObjectFields("Group", (t) => ({
  providerAccess: t.relation("providerAccess", { description, query: byProviderName, authScopes: { orgAdmin: true } }),
}));

builder.prismaObjectFields("VirtualAccount", (t) => ({
  providerAccess: t.relation("providerAccess", { description, query: byProviderName }),
}));

builder.prismaObjectFields("Provider", (t) => ({
  access: t.relation("access", {
    description: "Users, groups and virtual accounts with access to this provider.",
    query: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
  }),
}));
