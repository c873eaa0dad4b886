// Judges one GraphQL answer: no 5xx, no masked internal error, nothing that looks like a stack trace or SQL, and only
// the error codes the README documents ("Limits on GraphQL requests", the typed errors, GraphQL's own refusals).

/**
 * README "Limits on GraphQL requests" and "Who may do what"; the typed codes, which queries raise as errors; and
 * graphql-yoga's refusals of what is not a valid GraphQL request.
 */
export const DOCUMENTED_ERROR_CODES = new Set([
  "PAYLOAD_TOO_LARGE",
  "BATCH_TOO_LARGE",
  "CSRF_HEADER_REQUIRED",
  "TOO_MANY_TOKENS",
  "QUERY_TOO_DEEP",
  "TOO_MANY_ALIASES",
  "QUERY_TOO_COSTLY",
  "TOO_MANY_DIRECTIVES",
  "INTROSPECTION_DISABLED",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "VALIDATION",
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_USER_INPUT",
]);

/** The `code` of typed error results (NotFoundError, ConflictError, ValidationError). */
export const TYPED_ERROR_CODES = new Set(["NOT_FOUND", "CONFLICT", "VALIDATION", "FORBIDDEN", "UNAUTHENTICATED"]);

const LEAKS = /\n\s+at |\bat [\w.$<>]+ \(|\.[cm]?[jt]s:\d+|node_modules|prisma|\bSELECT\b|\bINSERT INTO\b|\bUPDATE "|\bDELETE FROM\b|invocation|violates|duplicate key|syntax error at or near|ECONN/i;

export interface GraphQLVerdict {
  problem: string | null;
  /** Every error code seen, for the tally. */
  codes: string[];
}

interface GraphQLError {
  message?: unknown;
  extensions?: { code?: unknown };
}

export function judgeGraphQL(status: number, text: string): GraphQLVerdict {
  const codes: string[] = [];
  if (status >= 500) return { problem: `HTTP ${status}: ${text.slice(0, 300)}`, codes };
  // A subscription over plain POST asks for a stream the client does not accept: yoga's bodiless 406 is the HTTP answer.
  if (status === 406 && text === "") return { problem: null, codes };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { problem: `HTTP ${status} that is not JSON: ${text.slice(0, 200)}`, codes };
  }
  for (const result of Array.isArray(body) ? body : [body]) {
    const problem = judgeResult(result as { data?: unknown; errors?: GraphQLError[] }, codes);
    if (problem !== null) return { problem: `HTTP ${status}: ${problem}`, codes };
  }
  return { problem: null, codes };
}

function judgeResult(result: { data?: unknown; errors?: GraphQLError[] }, codes: string[]): string | null {
  if ((result.errors ?? []).length === 0) codes.push("(no error)");
  for (const error of result.errors ?? []) {
    const text = JSON.stringify(error);
    if (error.message === "Unexpected error.") return `a masked internal error: ${text}`;
    if (LEAKS.test(text)) return `an error that shows internals: ${text.slice(0, 400)}`;
    const code = error.extensions?.code;
    if (typeof code !== "string") return `an error without a code: ${text.slice(0, 300)}`;
    codes.push(code);
    if (!DOCUMENTED_ERROR_CODES.has(code)) return `undocumented error code ${code}: ${text.slice(0, 300)}`;
  }
  return typedErrors(result.data, codes);
}

/** Typed error results anywhere in `data` must carry a documented code. */
function typedErrors(value: unknown, codes: string[]): string | null {
  if (value === null || typeof value !== "object") return null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = typedErrors(item, codes);
      if (problem !== null) return problem;
    }
    return null;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.__typename === "string" && record.__typename.endsWith("Error") && typeof record.code === "string") {
    codes.push(record.code);
    if (!TYPED_ERROR_CODES.has(record.code)) return `typed error with undocumented code ${record.code}`;
    if (typeof record.message === "string" && LEAKS.test(record.message)) return `typed error that shows internals: ${record.message.slice(0, 300)}`;
  }
  for (const item of Object.values(record)) {
    const problem = typedErrors(item, codes);
    if (problem !== null) return problem;
  }
  return null;
}
