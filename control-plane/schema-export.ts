// Writes the GraphQL SDL to control-plane/schema.graphql (committed; a test keeps it current): `npm run schema:export`.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { lexicographicSortSchema, printSchema } from "graphql";
import { schema } from "./schema.ts";

export const schemaFile = fileURLToPath(new URL("./schema.graphql", import.meta.url));

export function printSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(schemaFile, printSdl());
  console.log(`wrote ${schemaFile}`);
}
