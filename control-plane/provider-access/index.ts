// The provider-access domain: registers its GraphQL types and mutations, and the access fields on subjects and providers.
import "./provider-access-type.ts";
import "./provider-access-fields.ts";
import "./provider-access-mutations.ts";
