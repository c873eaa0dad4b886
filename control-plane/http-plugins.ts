// Yoga plugins that serve plain HTTP routes next to /graphql (exports, the invite page); one file per route.
import type { Plugin } from "graphql-yoga";
import type { ControlPlaneOptions } from "./server.ts";

export function httpPlugins(_options: ControlPlaneOptions): Plugin[] {
  return [];
}
