// Vitest settings: tests live in test/, mirror the source tree, and run in parallel files against real services.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  // graphql ships CJS and ESM builds; Node (and so production) loads the CJS one everywhere, but Vite would give our
  // sources the ESM one while graphql-yoga keeps CJS, and then `instanceof GraphQLError` fails across the two.
  resolve: { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve("graphql") }] },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "test/bench/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default"],
  },
});
