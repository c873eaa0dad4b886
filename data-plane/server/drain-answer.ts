// Keeps a failed provider answer (5xx/429) while the next route is tried, so it can be passed through if all fail.
import { forwardedHeaderName } from "./forwarded-headers.ts";
import type { UpstreamResponse } from "../relay/upstream-client.ts";

export interface FailedAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Error bodies are small; past this we keep the start and drop the rest rather than hold a runaway body. */
const MAX_KEPT_BYTES = 64 * 1024;

export async function drainAnswer(answer: UpstreamResponse): Promise<FailedAnswer> {
  const headers: Record<string, string> = {};
  for (const name in answer.headers) {
    const value = answer.headers[name];
    const relayedAs = forwardedHeaderName(name);
    if (typeof value === "string" && relayedAs !== null) headers[relayedAs] = value;
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  try {
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      if (kept >= MAX_KEPT_BYTES) continue;
      const part = chunk.length > MAX_KEPT_BYTES - kept ? chunk.subarray(0, MAX_KEPT_BYTES - kept) : chunk;
      chunks.push(part);
      kept += part.length;
    }
  } catch {
    // A body cut short still tells the status; keep what arrived.
  }
  return { statusCode: answer.status, headers, body: Buffer.concat(chunks, kept) };
}
