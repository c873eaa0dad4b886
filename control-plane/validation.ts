// Edge validation: zod schemas turn GraphQL input into trusted values or a ValidationError.
import { GraphQLError } from "graphql";
import { z } from "zod";
import { type FieldIssue, ValidationError } from "./errors.ts";

export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
}

export const uuid = (what: string) => z.uuid({ error: `${what} must be a UUID` });
export const name = (what: string, max = 100) =>
  z.string().trim().min(1, `${what} must not be empty`).max(max, `${what} must be at most ${max} characters`);
export const optionalText = (max = 1000) =>
  z.string().trim().max(max, `must be at most ${max} characters`).nullish().transform((v) => (v ? v : null));
/** Lowercase letters, digits, dots, dashes, underscores and colons; starts with a letter or digit. */
export const slug = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9._:-]{0,99}$/, "slug must be 1–100 characters: lowercase letters, digits, '.', '_', ':' or '-', starting with a letter or digit");
export const email = z.string().trim().toLowerCase().pipe(z.email({ error: "email must be a valid address" }));
export const nonNegativeInt = (what: string) =>
  z.number().int(`${what} must be a whole number`).min(0, `${what} must not be negative`).max(2_000_000_000, `${what} is too large`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Lookups by a malformed id answer "not found" rather than a database error. */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Bad arguments to a field that returns a list, connection or stream, where a typed ValidationError result (a union
 * member) cannot carry the failure: a GraphQL error with code VALIDATION, the issues, and HTTP 400.
 */
export function parseArguments<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw invalidArguments(result.error.issues.map((i) => ({ path: [path, ...i.path].filter(Boolean).join("."), message: i.message })));
}

function invalidArguments(issues: FieldIssue[]): GraphQLError {
  return new GraphQLError(`invalid arguments: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`, {
    extensions: { code: "VALIDATION", issues, http: { status: 400 } },
  });
}
