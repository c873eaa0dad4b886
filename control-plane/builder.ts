// The one Pothos builder; each domain registers its own types from its own folder.
import SchemaBuilder from "@pothos/core";
import ErrorsPlugin from "@pothos/plugin-errors";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { type AuthScopes, authScopes } from "./auth/auth-scopes.ts";
import { forbidden, unauthenticated } from "./auth/authenticate.ts";
import type { Context } from "./context.ts";
import type PrismaTypes from "./db/generated/pothos-types.ts";
import { getDatamodel } from "./db/generated/pothos-types.ts";

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: Context;
  AuthScopes: AuthScopes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    Usd: { Input: bigint; Output: bigint };
  };
}>({
  plugins: [ErrorsPlugin, ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes,
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx) =>
      ctx.caller
        ? forbidden("you are not allowed to do this")
        : unauthenticated("authentication required: send an API key as `Authorization: Bearer <key>`"),
  },
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: { clientMutationId: "omit", cursorType: "String" },
  errors: { directResult: true },
});

// Every operation needs a caller unless a field opts out (skipTypeScopes), e.g. accepting an invite.
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });
builder.subscriptionType({ authScopes: { authenticated: true } });
