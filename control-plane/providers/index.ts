// The providers domain: registers its GraphQL types, queries and mutations.
import "./provider-type.ts";
import "./provider-queries.ts";
import "./provider-mutations.ts";
import "./provider-status-mutations.ts";
import "./provider-model-mutations.ts";
