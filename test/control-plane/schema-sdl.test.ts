import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printSdl, schemaFile } from "../../control-plane/schema-export.ts";

describe("schema.graphql", () => {
  it("is current with the code (run `npm run schema:export` after changing the API)", () => {
    expect(readFileSync(schemaFile, "utf8")).toBe(printSdl());
  });
});
