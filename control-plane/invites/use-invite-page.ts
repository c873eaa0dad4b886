// Serves GET /invites/accept: the page an invite link opens. The token stays in the URL for the page's script;
// the server never echoes it, and a strict CSP allows only this page's own nonce-tagged script and style.
import { randomBytes } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import { invitePageHtml } from "./invite-page-html.ts";

export const INVITE_PAGE_PATH = "/invites/accept";

export function useInvitePage(): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== INVITE_PAGE_PATH) return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        endResponse(new fetchAPI.Response("Method Not Allowed", { status: 405, headers: { allow: "GET, HEAD" } }));
        return;
      }
      const nonce = randomBytes(16).toString("base64");
      endResponse(
        new fetchAPI.Response(request.method === "HEAD" ? null : invitePageHtml(nonce), {
          status: 200,
          headers: {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "content-security-policy": [
              "default-src 'none'",
              `script-src 'nonce-${nonce}'`,
              `style-src 'nonce-${nonce}'`,
              "connect-src 'self'",
              "form-action 'none'",
              "base-uri 'none'",
              "frame-ancestors 'none'",
            ].join("; "),
          },
        }),
      );
    },
  };
}
