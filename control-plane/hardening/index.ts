// GraphQL hardening: limits on what one request may ask for, CSRF prevention, introspection switch.
import type { Plugin } from "graphql-yoga";
import type { Config } from "../../shared/config.ts";

export function hardeningPlugins(_config: Config): Plugin[] {
  return [];
}
