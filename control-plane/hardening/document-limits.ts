// Limits on the shape of a GraphQL document (graphql-armor): depth, aliases, cost and directives are checked during
// validation, tokens while parsing, so an oversized document is refused before anything runs.
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesPlugin } from "@escape.tech/graphql-armor-max-directives";
import { maxTokensPlugin } from "@escape.tech/graphql-armor-max-tokens";
import type { GraphQLError, ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { MAX_ALIASES, MAX_COST, MAX_DEPTH, MAX_DIRECTIVES, MAX_TOKENS } from "./limits.ts";
import { armorMessage, refusal } from "./refusal.ts";

/** Report the refusal as a validation error with our code (yoga answers 400) instead of armor's bare throw. */
const reportAs = (code: string) => ({
  propagateOnRejection: false,
  onReject: [(ctx: ValidationContext | null, error: GraphQLError) => ctx?.reportError(refusal(code, armorMessage(error), 400))],
});

export function documentLimitPlugins(): Plugin[] {
  return [
    // Only fields count: fragments (`... on Group`, typed mutation results) add no real nesting.
    maxDepthPlugin({ n: MAX_DEPTH, flattenFragments: true, ...reportAs("QUERY_TOO_DEEP") }),
    maxAliasesPlugin({ n: MAX_ALIASES, ...reportAs("TOO_MANY_ALIASES") }),
    costLimitPlugin({ maxCost: MAX_COST, flattenFragments: true, ...reportAs("QUERY_TOO_COSTLY") }),
    maxDirectivesPlugin({ n: MAX_DIRECTIVES, ...reportAs("TOO_MANY_DIRECTIVES") }),
    // The parser has no validation context to report to: stop it by throwing (yoga answers 400 for parse errors).
    maxTokensPlugin({
      n: MAX_TOKENS,
      propagateOnRejection: false,
      onReject: [
        (_ctx, error) => {
          throw refusal("TOO_MANY_TOKENS", armorMessage(error), 400);
        },
      ],
    }),
  ] as Plugin[];
}
