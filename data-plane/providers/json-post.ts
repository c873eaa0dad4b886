// The upstream call every adapter makes: a JSON POST, uncompressed so the usage scanners see plain bytes.
import type { UpstreamRequest } from "../contracts.ts";

export function jsonPost(url: string, headers: Record<string, string>, body: Record<string, unknown>): UpstreamRequest {
  headers["content-type"] = "application/json";
  headers["accept-encoding"] = "identity";
  return { url, method: "POST", headers, body: JSON.stringify(body) };
}
