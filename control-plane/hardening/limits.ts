// How much one request may ask for. Generous for an admin UI or a script, small enough that no single request can
// tie up the server; GraphiQL's introspection query passes (introspection is exempt from depth and cost).
export const MAX_DEPTH = 10;
export const MAX_ALIASES = 15;
/**
 * graphql-armor's cost: objects 2, scalars 1, ×1.5 per level, × `first`/`last` on lists. A page of 100 models with
 * their routes, provider models and providers costs about 10,200; 100 users with groups → members → groups → members
 * about 18,100 (refused).
 */
export const MAX_COST = 15_000;
/** Lexer tokens per document; GraphiQL's introspection query is about 190. */
export const MAX_TOKENS = 2000;
export const MAX_DIRECTIVES = 20;
export const MAX_BATCH_OPERATIONS = 10;
