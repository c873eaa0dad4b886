// A spend subscription naming a subject that does not exist is refused when subscribing, like NotFoundError elsewhere.
import { GraphQLError } from "graphql";

/** A subscription names a subject that does not exist: refused when subscribing, like NotFoundError elsewhere. */
export function subjectNotFound(entity: string, id: string): GraphQLError {
  return new GraphQLError(`${entity} ${id} was not found`, { extensions: { code: "NOT_FOUND", entity, id } });
}
