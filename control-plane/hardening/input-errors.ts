// Client-input mistakes get the stable code BAD_USER_INPUT instead of a masked "Unexpected error." or no code at all:
// text holding a NUL character (Postgres cannot store or compare it) is refused before anything runs, and the errors
// GraphQL (variables of the wrong type) and Pothos (bad connection arguments and cursors) raise without a code get one.
import { PothosValidationError } from "@pothos/core";
import { type DocumentNode, type ExecutionResult, GraphQLError, Kind, visit } from "graphql";
import type { Plugin } from "graphql-yoga";
import { refusal } from "./refusal.ts";

export const BAD_USER_INPUT = "BAD_USER_INPUT";

export function inputErrors(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (documentHasNul(args.document) || valueHasNul(args.variableValues)) {
        setResultAndStopExecution({ errors: [refusal(BAD_USER_INPUT, "text may not contain the NUL character (U+0000)", 400)] });
        return;
      }
      return {
        onExecuteDone({ result, setResult }) {
          const errors = (result as ExecutionResult).errors;
          if (errors === undefined || !errors.some(needsCode)) return;
          setResult({ ...(result as ExecutionResult), errors: errors.map((e) => (needsCode(e) ? withCode(e) : e)) });
        },
      };
    },
  };
}

/** Errors outside any field are the request's (its variables); PothosValidationError is always about arguments. */
function needsCode(error: GraphQLError): boolean {
  return error.extensions?.code === undefined && (error.path === undefined || error.originalError instanceof PothosValidationError);
}

function withCode(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: BAD_USER_INPUT },
  });
}

function documentHasNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING](node) {
      if (node.value.includes("\u0000")) found = true;
    },
  });
  return found;
}

function valueHasNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (value === null || typeof value !== "object") return false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (valueHasNul(item)) return true;
  return false;
}
