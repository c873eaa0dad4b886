// Answers a routed, valid request: the endpoint's result in the caller's wire format, honouring the failure controls.
import { setTimeout as sleep } from "node:timers/promises";
import { anthropicCountTokensJson, anthropicFrames, anthropicMessageJson } from "./anthropic-frames.ts";
import { cutConnection, type Exchange, type MockEndpoint, sendError, sendJson, type WireFormat } from "./exchange.ts";
import { openaiCompletionJson, openaiEmbeddingsJson, openaiFrames } from "./openai-frames.ts";
import { pump, stalled } from "./stream.ts";
import { mockUsage } from "./usage.ts";

const STABLE_CREATED = 1_700_000_000;

export async function respond(x: Exchange, endpoint: MockEndpoint, deployment: string | null, format: WireFormat): Promise<void> {
  const { rec } = x;
  const body = rec.body;
  const behavior = rec.behavior;
  const model = JSON.stringify(typeof body?.model === "string" ? body.model : (deployment ?? "mock"));
  if (endpoint === "models") return sendJson(x, 200, x.state.modelsJson);
  const usage = mockUsage(endpoint, body, behavior);
  if (endpoint === "count_tokens") return sendJson(x, 200, anthropicCountTokensJson(usage));
  if (endpoint === "embeddings") return sendJson(x, 200, openaiEmbeddingsJson(body, model, usage));
  const out = usage.outputTokens;
  const truncated = out < behavior.chunks;
  // `stable`: the same request always gets the same bytes (no per-request id, a fixed timestamp).
  const suffix = behavior.stable ? "_stable" : String(rec.seq);
  const id = format === "openai" ? `chatcmpl-mock${suffix}` : `msg_mock${suffix}`;
  const created = behavior.stable ? STABLE_CREATED : undefined;
  if (body.stream === true) {
    rec.stream = true;
    const frames =
      format === "openai" ? openaiFrames(id, model, body, usage, truncated ? "length" : "stop", created) : anthropicFrames(id, model, usage, truncated ? "max_tokens" : "end_turn");
    return pump(x, frames, out);
  }
  // A non-stream answer takes as long as generating every chunk would.
  if (behavior.delayMs > 0 && out > 0) {
    await sleep(behavior.delayMs * out);
    if (x.gone) return;
  }
  const json =
    format === "openai" ? openaiCompletionJson(id, model, usage, truncated ? "length" : "stop", created) : anthropicMessageJson(id, model, usage, truncated ? "max_tokens" : "end_turn");
  if (behavior.stallAfter !== null) {
    rec.status = 200;
    x.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
    x.res.flushHeaders();
    return stalled(x);
  }
  if (behavior.failAfter !== null && behavior.failAfter <= out) {
    if (behavior.failMode === "event") return sendError(x, format, format === "openai" ? 500 : 529);
    // Promise the whole body, send half of it, then cut.
    rec.status = 200;
    x.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
    x.res.write(json.slice(0, json.length >> 1));
    return cutConnection(x);
  }
  sendJson(x, 200, json);
}
