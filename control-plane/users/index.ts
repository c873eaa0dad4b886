// The users domain: registers its GraphQL types, queries and mutations.
import "./user-type.ts";
import "./user-queries.ts";
import "./me-query.ts";
import "./user-mutations.ts";
import "./user-status-mutations.ts";
