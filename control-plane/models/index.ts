// The models domain: registers its GraphQL types, queries and mutations.
import "./model-type.ts";
import "./model-queries.ts";
import "./model-mutations.ts";
import "./model-route-mutations.ts";
