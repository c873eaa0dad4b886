// Which upstream response headers may be relayed to the client: never hop-by-hop ones, nor framing we redo ourselves.
import type { IncomingHttpHeaders } from "node:http";

// Framing (length, chunking) is the gateway's own response's business; provider auth/trace cookies are not the client's.
const NOT_RELAYED = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "date",
  "server",
  "set-cookie",
  "alt-svc",
]);

/** [name, value] pairs to copy onto the client response; multi-valued headers become one pair per value. */
export function relayableHeaders(headers: IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const name in headers) {
    if (NOT_RELAYED.has(name)) continue;
    const value = headers[name];
    if (typeof value === "string") out.push([name, value]);
    else if (Array.isArray(value)) for (const one of value) out.push([name, one]);
  }
  return out;
}
