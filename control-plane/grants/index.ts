// The grants domain: registers its GraphQL types and mutations, and the grants fields on subjects and models.
import "./grant-type.ts";
import "./grant-fields.ts";
import "./grant-mutations.ts";
