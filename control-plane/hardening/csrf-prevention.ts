// CSRF prevention (@graphql-yoga/plugin-csrf-prevention): a request a browser may send cross-site without a CORS
// preflight (a form post, a plain GET) must carry a custom header, which only a preflighted request can. JSON POSTs
// are preflighted by browsers and pass as they are.
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import type { Plugin } from "graphql-yoga";
import { refusal } from "./refusal.ts";

export const CSRF_HEADER = "x-graphql-yoga-csrf";

export function csrfPrevention(): Plugin {
  const plugin = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });
  return {
    // The plugin's own error has no code; keep its decision, give the refusal ours.
    async onRequestParse(payload) {
      try {
        await plugin.onRequestParse?.(payload);
      } catch {
        throw refusal(
          "CSRF_HEADER_REQUIRED",
          `this request could come from a cross-site form or link: send it as a JSON POST (content-type: application/json) or add the \`${CSRF_HEADER}\` header`,
          403,
        );
      }
    },
  };
}
