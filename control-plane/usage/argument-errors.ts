// Bad arguments to a usage query or subscription: a 400 with code VALIDATION and the issues, like audit filters.
// These fields return lists or streams, so a typed ValidationError result (a union member) cannot carry the failure.
import { GraphQLError } from "graphql";
import type { z } from "zod";
import type { FieldIssue } from "../errors.ts";

export function parseArguments<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw invalidArguments(result.error.issues.map((i) => ({ path: [path, ...i.path].filter(Boolean).join("."), message: i.message })));
}

export function invalidArguments(issues: FieldIssue[]): GraphQLError {
  return new GraphQLError(`invalid arguments: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
    extensions: { code: "VALIDATION", issues, http: { status: 400 } },
  });
}

/** A subscription names a subject that does not exist: refused when subscribing, like NotFoundError elsewhere. */
export function subjectNotFound(entity: string, id: string): GraphQLError {
  return new GraphQLError(`${entity} ${id} was not found`, { extensions: { code: "NOT_FOUND", entity, id } });
}
