// GraphQL shapes of the typed errors: every failing mutation returns one of these with a stable `code`.
import { builder } from "./builder.ts";
import { AppError, ConflictError, type FieldIssue, NotFoundError, ValidationError } from "./errors.ts";

const ErrorCodeEnum = builder.enumType("ErrorCode", { values: ["NOT_FOUND", "CONFLICT", "VALIDATION"] as const });

const ErrorInterface = builder.interfaceRef<AppError>("Error").implement({
  description: "An expected failure; switch on `code`.",
  fields: (t) => ({
    code: t.field({ type: ErrorCodeEnum, resolve: (e) => e.code }),
    message: t.exposeString("message"),
  }),
});

builder.objectType(NotFoundError, {
  name: "NotFoundError",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof NotFoundError,
  fields: (t) => ({ entity: t.exposeString("entity"), id: t.exposeID("id") }),
});

builder.objectType(ConflictError, {
  name: "ConflictError",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ConflictError,
  fields: (t) => ({ field: t.exposeString("field") }),
});

const FieldIssueRef = builder.objectRef<FieldIssue>("FieldIssue").implement({
  fields: (t) => ({ path: t.exposeString("path"), message: t.exposeString("message") }),
});

builder.objectType(ValidationError, {
  name: "ValidationError",
  interfaces: [ErrorInterface],
  isTypeOf: (e) => e instanceof ValidationError,
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (e) => e.issues }) }),
});

/** The errors every mutation can return. */
export const mutationErrors = { types: [ValidationError, NotFoundError, ConflictError] };
