// Yoga plugins that serve plain HTTP routes next to /graphql (exports, the invite page); one file per route.
import type { Plugin } from "graphql-yoga";
import { useInvitePage } from "./invites/use-invite-page.ts";
import type { ControlPlaneOptions } from "./server.ts";
import { useUserExport } from "./users/user-export.ts";

export function httpPlugins(options: ControlPlaneOptions): Plugin[] {
  return [useInvitePage(), useUserExport(options.prisma)];
}
