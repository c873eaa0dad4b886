// The upstream call every adapter makes: a JSON POST, uncompressed so the usage scanners see plain bytes.
import type { RequestBody, UpstreamRequest } from "../contracts.ts";

export function jsonPost(url: string, headers: Record<string, string>, body: RequestBody): UpstreamRequest {
  headers["content-type"] = "application/json";
  headers["accept-encoding"] = "identity";
  return { url, method: "POST", headers, body: Buffer.isBuffer(body) ? body : JSON.stringify(body) };
}
