// The AuditEvent type: who changed what, when and from where, with the state before and after.
import { builder } from "../builder.ts";

export const AuditEventRef = builder.prismaObject("AuditEvent", {
  description: "One committed change. Snapshots are JSON: money as decimal micro-dollar strings, times as ISO strings.",
  // The log reveals every change in the organisation: org admins only, wherever the type is reached.
  authScopes: { orgAdmin: true },
  fields: (t) => ({
    // A bigint column; GraphQL IDs are strings.
    id: t.id({ resolve: (event) => event.id.toString() }),
    actorId: t.exposeID("actorId", { nullable: true, description: "The user who made the change; null for the system." }),
    actorLabel: t.exposeString("actorLabel", { description: "How the actor appeared at the time, e.g. their email, or `system`." }),
    action: t.exposeString("action", { description: "`<entity>.<verb>`, e.g. `group.create` or `model.route.add`." }),
    targetType: t.exposeString("targetType"),
    targetId: t.exposeID("targetId", { nullable: true }),
    before: t.field({ type: "JSON", nullable: true, resolve: (event) => event.before }),
    after: t.field({ type: "JSON", nullable: true, resolve: (event) => event.after }),
    sourceIp: t.exposeString("sourceIp", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
