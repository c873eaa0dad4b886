// The virtual-accounts domain: registers its GraphQL types, queries and mutations.
import "./virtual-account-type.ts";
import "./virtual-account-queries.ts";
import "./virtual-account-mutations.ts";
import "./virtual-account-status-mutations.ts";
