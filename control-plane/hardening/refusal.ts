// The one shape of every hardening refusal: a GraphQL error with a clear message, a stable code and an HTTP status.
import { GraphQLError, type ASTNode } from "graphql";

export function refusal(code: string, message: string, status: number, nodes?: readonly ASTNode[]): GraphQLError {
  return new GraphQLError(message, { nodes, extensions: { code, http: { status } } });
}

/** graphql-armor words every refusal as a "Syntax Error"; it is not one, so say only what happened. */
export function armorMessage(error: GraphQLError): string {
  return error.message.replace(/^Syntax Error: /, "");
}
