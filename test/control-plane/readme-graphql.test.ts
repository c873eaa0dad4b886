// Every GraphQL snippet in the README must be valid against the schema, so the docs cannot drift from the API.
import { readFileSync } from "node:fs";
import { parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../../control-plane/schema.ts";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("README GraphQL snippets", () => {
  it("there are snippets to check", () => {
    expect(blocks.length).toBeGreaterThan(2);
  });

  it.each(blocks.map((block, i) => [i, block] as const))("snippet %i is valid against the schema", (_i, block) => {
    for (const operation of block.split(/\n(?=mutation|query|subscription|\{)/)) {
      const errors = validate(schema, parse(operation));
      expect(errors.map((e) => e.message), operation).toEqual([]);
    }
  });
});
