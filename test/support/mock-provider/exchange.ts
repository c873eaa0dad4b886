// One request in flight: what the mock records about it, the server state it belongs to, and the ways to answer it.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { anthropicErrorBody } from "./anthropic-frames.ts";
import type { MockBehavior } from "./behavior.ts";
import { openaiErrorBody } from "./openai-frames.ts";

export type MockEndpoint = "chat" | "embeddings" | "models" | "messages" | "count_tokens";

export type WireFormat = "openai" | "anthropic";

export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (null for GET or an unparsable body). */
  body: any;
  /** The body exactly as it arrived (UTF-8). */
  bodyText: string;
  endpoint: MockEndpoint | null;
  /** The provider credential the caller sent: Authorization bearer, x-api-key or api-key, in that order. */
  credential: string | null;
  /** Azure deployment from the URL, else null. */
  deployment: string | null;
  stream: boolean;
  behavior: MockBehavior;
  /** Status the mock answered with (0 while nothing was sent). */
  status: number;
  contentChunksSent: number;
  /** How often a write hit backpressure and the mock waited for 'drain'. */
  drainWaits: number;
  /** The client went away before the mock finished its response. */
  clientAborted: boolean;
  /** Settles when the response is finished or the connection is gone. */
  closed: Promise<void>;
}

export interface MockProviderStats {
  requests: number;
  clientAborts: number;
  drainWaits: number;
  /** Streamed answers waiting for 'drain' right now (paused by backpressure). */
  streamsWaitingDrain: number;
  /** Body bytes handed to res.write() by streamed answers (total since start). */
  streamBytes: number;
}

export const emptyStats = (): MockProviderStats => ({ requests: 0, clientAborts: 0, drainWaits: 0, streamsWaitingDrain: 0, streamBytes: 0 });

/** What GET STATS_PATH answers: the stats, plus the streams open now and the bytes they have queued in Node, not yet in the kernel. */
export interface MockLiveStats extends MockProviderStats {
  streamsOpen: number;
  streamBytesQueued: number;
}

export function liveStats(state: ServerState): MockLiveStats {
  let queued = 0;
  for (const res of state.openStreams) queued += res.writableLength;
  return { ...state.stats, streamsOpen: state.openStreams.size, streamBytesQueued: queued };
}

export interface ServerState {
  defaults: MockBehavior;
  requireCredential: string | undefined;
  modelsJson: string;
  record: boolean;
  requests: RecordedRequest[];
  stats: MockProviderStats;
  seq: number;
  closing: boolean;
  /** Streamed answers in progress. */
  openStreams: Set<ServerResponse>;
}

/** One request in flight. */
export interface Exchange {
  state: ServerState;
  req: IncomingMessage;
  res: ServerResponse;
  rec: RecordedRequest;
  /** The connection is gone (client abort, our own cut, or shutdown). */
  gone: boolean;
  cutByMock: boolean;
}

export function errorBody(format: WireFormat, status: number, message?: string): string {
  return format === "anthropic" ? anthropicErrorBody(status, message) : openaiErrorBody(status, message);
}

export function sendJson(x: Exchange, status: number, json: string, headers?: Record<string, string>): void {
  x.rec.status = status;
  x.res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json), ...headers });
  x.res.end(json);
}

export function sendError(x: Exchange, format: WireFormat, status: number, message?: string): void {
  const retryAfter = x.rec.behavior.retryAfter;
  const headers: Record<string, string> = format === "anthropic" ? { "request-id": `req_mock${x.rec.seq}` } : { "x-request-id": `req_mock${x.rec.seq}` };
  if (retryAfter !== null) headers["retry-after"] = String(retryAfter);
  sendJson(x, status, errorBody(format, status, message), headers);
}

/** Flushes what was written, then closes the connection without finishing the body: the client sees a truncated response. */
export function cutConnection(x: Exchange): void {
  x.cutByMock = true;
  const socket = x.res.socket;
  if (!socket) return;
  socket.once("finish", () => socket.destroy());
  socket.end();
}
