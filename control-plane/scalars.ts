// Custom scalars: DateTime (ISO 8601), JSON, and Usd (exact decimal dollars over integer micro-dollars).
import { GraphQLError, Kind } from "graphql";
import { microsToUsd, usdToMicros } from "../shared/money.ts";
import { builder } from "./builder.ts";

builder.scalarType("DateTime", {
  description: "An ISO 8601 timestamp in UTC.",
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === "string" ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError("DateTime must be an ISO 8601 string");
    return date;
  },
});

builder.scalarType("JSON", {
  description: "Arbitrary JSON.",
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.scalarType("Usd", {
  description: 'An exact amount of US dollars as a decimal string, e.g. "20.00" (stored as integer micro-dollars).',
  serialize: (micros) => microsToUsd(micros),
  parseValue: (value) => parseUsd(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING && ast.kind !== Kind.INT && ast.kind !== Kind.FLOAT) {
      throw new GraphQLError('Usd must be a decimal string such as "20.00"');
    }
    return parseUsd(ast.value);
  },
});

function parseUsd(value: unknown): bigint {
  if (typeof value !== "string" && typeof value !== "number") {
    throw new GraphQLError('Usd must be a decimal string such as "20.00"');
  }
  try {
    return usdToMicros(String(value));
  } catch (error) {
    throw new GraphQLError(`Usd: ${(error as Error).message}`);
  }
}
