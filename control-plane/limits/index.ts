// The limits domain: registers its GraphQL types and mutations, and the rateLimit field on subjects.
import "./rate-limit-type.ts";
import "./rate-limit-fields.ts";
import "./rate-limit-mutations.ts";
