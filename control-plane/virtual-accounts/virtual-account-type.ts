// The VirtualAccount type: a service principal for an application, not tied to a person.
import { builder } from "../builder.ts";

export const VirtualAccountStatusEnum = builder.enumType("VirtualAccountStatus", { values: ["ACTIVE", "DISABLED"] as const });

// Service principals are an admin matter through and through.
builder.prismaObject("VirtualAccount", {
  authScopes: { orgAdmin: true },
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    description: t.exposeString("description", { nullable: true }),
    status: t.expose("status", { type: VirtualAccountStatusEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});
