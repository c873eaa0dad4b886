// The groups domain: registers its GraphQL types, queries and mutations.
import "./group-type.ts";
import "./group-queries.ts";
import "./group-mutations.ts";
