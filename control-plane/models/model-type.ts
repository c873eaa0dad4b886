// The Model facade (what clients ask for by slug) and its routes to provider models.
import { builder } from "../builder.ts";

export const modelKinds = ["CHAT", "EMBEDDING", "COMPLETION", "IMAGE", "AUDIO", "RERANK"] as const;
export const ModelKindEnum = builder.enumType("ModelKind", { values: modelKinds });
export const routeStatuses = ["ACTIVE", "INACTIVE"] as const;
export const RouteStatusEnum = builder.enumType("RouteStatus", { values: routeStatuses });

builder.prismaObject("Model", {
  fields: (t) => ({
    id: t.exposeID("id"),
    slug: t.exposeString("slug"),
    displayName: t.exposeString("displayName"),
    kind: t.expose("kind", { type: ModelKindEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    routes: t.relation("routes", { query: { orderBy: [{ priority: "asc" }, { createdAt: "asc" }] } }),
  }),
});

builder.prismaObject("ModelRoute", {
  fields: (t) => ({
    id: t.exposeID("id"),
    model: t.relation("model"),
    providerModel: t.relation("providerModel"),
    priority: t.exposeInt("priority", { description: "Lower is tried first." }),
    weight: t.exposeInt("weight", { description: "Share of traffic among routes of equal priority." }),
    status: t.expose("status", { type: RouteStatusEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});
