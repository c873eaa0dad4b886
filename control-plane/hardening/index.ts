// GraphQL hardening: limits on what one request may ask for, CSRF prevention, introspection switch.
//
// Every refusal is a GraphQL error with a stable `extensions.code` (and the HTTP status yoga sends):
//   PAYLOAD_TOO_LARGE       413  body over GRAPHQL_MAX_BODY_BYTES (default 1 MB), declared or chunked (request-body-limit.ts, from server.ts)
//   BATCH_TOO_LARGE         413  a batch of more than MAX_BATCH_OPERATIONS (10) operations
//   CSRF_HEADER_REQUIRED    403  a request a browser can send cross-site without a preflight (form post, plain GET)
//   TOO_MANY_TOKENS         400  more than MAX_TOKENS (2000) lexer tokens; refused while parsing
//   QUERY_TOO_DEEP          400  field nesting over MAX_DEPTH (10); introspection's __schema is exempt
//   TOO_MANY_ALIASES        400  more than MAX_ALIASES (15) aliases
//   QUERY_TOO_COSTLY        400  graphql-armor cost over MAX_COST (15,000); `first`/`last` multiply
//   TOO_MANY_DIRECTIVES     400  more than MAX_DIRECTIVES (20) directives
//   INTROSPECTION_DISABLED  400  __schema / __type when GRAPHQL_INTROSPECTION is off (also over graphql-ws)
//   BAD_USER_INPUT          400  variables of the wrong type, text with a NUL character (input-errors.ts); also, with
//                                the field's path, bad connection arguments and cursors (first: -1, after: "junk")
// Parse and validation refusals follow GraphQL over HTTP: 400 for `application/graphql-response+json`, 200 for a client that
// accepts only `application/json`. Anything unexpected (a database failure, a bug) is masked by yoga as
// "Unexpected error." with code INTERNAL_SERVER_ERROR: no message, SQL or stack reaches the client.
import type { Plugin } from "graphql-yoga";
import type { Config } from "../../shared/config.ts";
import { batchLimit } from "./batch-limit.ts";
import { csrfPrevention } from "./csrf-prevention.ts";
import { documentLimitPlugins } from "./document-limits.ts";
import { inputErrors } from "./input-errors.ts";
import { introspectionSwitch } from "./introspection-switch.ts";

export { MAX_BATCH_OPERATIONS } from "./limits.ts";
export { limitRequestBody } from "./request-body-limit.ts";

export function hardeningPlugins(config: Config): Plugin[] {
  return [csrfPrevention(), batchLimit(), ...documentLimitPlugins(), introspectionSwitch(config.introspection), inputErrors()];
}
