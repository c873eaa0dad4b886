// The Provider type: an upstream account (OpenAI, Anthropic, …). Credentials are write-only: at most the last 4 characters show.
import { builder } from "../builder.ts";

export const ProviderStatusEnum = builder.enumType("ProviderStatus", { values: ["ACTIVE", "INACTIVE"] as const });

// A provider, its models and who has access to it are visible to admins and to the provider's MANAGERs.
builder.prismaObject("Provider", {
  authScopes: (provider) => ({ orgAdmin: true, providerManager: provider.id }),
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name"),
    kind: t.exposeString("kind"),
    baseUrl: t.exposeString("baseUrl"),
    status: t.expose("status", { type: ProviderStatusEnum }),
    // Short secrets have no last 4 on show (see provider-credentials.ts), so presence is read from the ciphertext.
    hasCredentials: t.boolean({ select: { credentialsCiphertext: true }, resolve: (p) => p.credentialsCiphertext !== null }),
    credentialsLast4: t.exposeString("credentialsLast4", {
      nullable: true,
      description: "The last 4 characters of the credentials, or null when unset or too short to show safely.",
    }),
    settings: t.expose("settings", { type: "JSON" }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    models: t.relation("models", { query: { orderBy: { upstreamName: "asc" } } }),
  }),
});

builder.prismaObject("ProviderModel", {
  authScopes: (model) => ({ orgAdmin: true, providerManager: model.providerId }),
  fields: (t) => ({
    id: t.exposeID("id"),
    upstreamName: t.exposeString("upstreamName"),
    provider: t.relation("provider"),
    inputPricePerMTok: t.expose("inputPricePerMTok", { type: "Usd", description: "USD per million input tokens." }),
    outputPricePerMTok: t.expose("outputPricePerMTok", { type: "Usd", description: "USD per million output tokens." }),
    cachedInputPricePerMTok: t.expose("cachedInputPricePerMTok", { type: "Usd", description: "USD per million cached input tokens." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    routes: t.relation("routes", {
      description: "Model routes that send traffic to this provider model.",
      query: { orderBy: [{ priority: "asc" }, { createdAt: "asc" }] },
    }),
  }),
});
