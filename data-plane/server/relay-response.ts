// Relays a provider's response to the client as it arrives: bytes untouched, backpressure honoured, failures framed.
import type { UsageScanner, WireFormat } from "../contracts.ts";
import type { UpstreamResponse } from "../relay/upstream-client.ts";
import type { Exchange } from "./exchange.ts";
import { statusLine } from "./errors.ts";
import { forwardedHeaderName } from "./forwarded-headers.ts";

export type RelayOutcome = "complete" | "upstream_failed" | "client_aborted";

export interface RelayDone {
  /** Called exactly once, when the relay ends for whatever reason, with the scanner that saw what was relayed. */
  relayDone(outcome: RelayOutcome, scanner: UsageScanner | null): void;
}

const OPENAI_STREAM_ERROR = Buffer.from(
  'data: {"error":{"message":"The provider\'s stream failed before it was complete","type":"upstream_error","code":"upstream_error"}}\n\n',
);
const ANTHROPIC_STREAM_ERROR = Buffer.from(
  'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The provider\'s stream failed before it was complete"}}\n\n',
);
const EVENT_BREAK = Buffer.from("\n\n");
const UPSTREAM_FAILED_BODY = JSON.stringify({ error: "upstream_error", message: "The provider's response failed before it was complete" });

/**
 * One relay per response; its handlers are bound once here rather than created per chunk. Writing happens inside
 * res.cork() because upstream data arrives outside any uWS callback. When res.write() reports backpressure we pause
 * the upstream body and resume from onWritable, so at most one upstream chunk (undici's highWaterMark) sits in uWS's
 * buffer per stream beyond the socket's own; a client that never drains is timed out by uWS and aborted.
 *
 * A JSON answer to a request that did not ask for a stream is written one chunk behind: the newest chunk is held until
 * the next arrives or the body ends. (A stream is never held back, whatever content type its provider gives it.)
 * Most answers are one chunk, which then leaves with its headers in a single send with a Content-Length, where writing
 * on arrival costs a second send for the chunked terminator (5–10 % more requests a second at no-delay load on the
 * bench host, issue 5). A partial JSON body is of no use to a client, so the delay costs nothing, and the hold is one
 * undici chunk at most. A body that fails while its only chunk is held gets a clean 502 instead of a cut connection.
 */
export class ResponseRelay {
  private headersSent = false;
  private paused = false;
  private ended = false;
  private readonly sse: boolean;
  /** Whether chunks are written one behind (see the class comment). */
  private readonly holdBack: boolean;
  /** Whether everything forwarded so far ends on an SSE event boundary (so an error event can follow cleanly). */
  private atEventBoundary = true;
  private pending: Buffer | null = null;
  /** With holdBack: the newest chunk, not yet written. */
  private held: Buffer | null = null;
  private writeOk = true;
  // Handlers are bound methods, not arrow-function fields: under tsx (esbuild's keepNames) each such field costs a
  // defineProperty on every instance, together ~3 % of the data plane's CPU at load (profile on issue 5).
  private readonly corkedWrite = this.writePending.bind(this);
  private readonly corkedEnd = this.writeEnd.bind(this);
  private readonly onData = this.relayChunk.bind(this);
  private readonly onWritable = this.resumeUpstream.bind(this);
  private readonly onEnd = this.relayEnd.bind(this);
  private readonly onError = this.relayFailure.bind(this);
  private readonly onClientAbort = this.clientAborted.bind(this);

  constructor(
    private readonly exchange: Exchange,
    private readonly answer: UpstreamResponse,
    private readonly scanner: UsageScanner | null,
    private readonly format: WireFormat,
    /** Headers of our own (request id, rate limits) sent along with the provider's. */
    private readonly extraHeaders: Record<string, string>,
    private readonly done: RelayDone,
    /** The client asked for a stream. */
    streamed: boolean,
  ) {
    this.sse = contentTypeOf(answer.headers).startsWith("text/event-stream");
    this.holdBack = !streamed && !this.sse;
  }

  start(): void {
    const { exchange, answer } = this;
    exchange.onAbort = this.onClientAbort;
    exchange.res.onWritable(this.onWritable);
    answer.body.on("data", this.onData);
    answer.body.on("end", this.onEnd);
    answer.body.on("error", this.onError);
  }

  private writeHead(): void {
    const res = this.exchange.res;
    res.writeStatus(statusLine(this.answer.status));
    const headers = this.answer.headers;
    for (const name in headers) {
      const value = headers[name];
      const relayedAs = value === undefined ? null : forwardedHeaderName(name);
      if (relayedAs === null) continue;
      if (typeof value === "string") res.writeHeader(relayedAs, value);
      else for (const item of value!) res.writeHeader(relayedAs, item);
    }
    const extra = this.extraHeaders;
    for (const name in extra) res.writeHeader(name, extra[name]!);
    this.headersSent = true;
  }

  private writePending(): void {
    if (!this.headersSent) this.writeHead();
    this.writeOk = this.exchange.res.write(this.pending!);
  }

  private relayChunk(chunk: Buffer): void {
    if (!this.exchange.open) return;
    let out = this.scanner === null ? chunk : this.scanner.push(chunk);
    if (out.length === 0) return;
    if (this.holdBack) {
      const previous = this.held;
      this.held = out;
      if (previous === null) return;
      out = previous;
    }
    this.pending = out;
    this.exchange.res.cork(this.corkedWrite);
    this.pending = null;
    if (this.sse) this.atEventBoundary = endsWithEventBreak(out);
    if (!this.writeOk && !this.paused) {
      this.paused = true;
      this.answer.body.pause();
    }
  }

  private resumeUpstream(): boolean {
    if (this.paused && this.exchange.open) {
      this.paused = false;
      this.answer.body.resume();
    }
    return true;
  }

  private writeEnd(): void {
    if (!this.headersSent) this.writeHead();
    // end(tail) sends the tail and the end together: with a Content-Length when nothing was written before.
    const tail = this.pending;
    if (tail !== null && tail.length > 0) this.exchange.res.end(tail);
    else this.exchange.res.end();
  }

  private relayEnd(): void {
    if (!this.exchange.open) return;
    const flushed = this.scanner === null ? null : this.scanner.flush();
    this.pending = this.held === null ? flushed : joined(this.held, flushed);
    this.held = null;
    this.exchange.finished = true;
    this.exchange.res.cork(this.corkedEnd);
    this.pending = null;
    this.finish("complete");
  }

  private writeFailure(): void {
    const res = this.exchange.res;
    if (!this.headersSent) this.writeHead();
    if (!this.atEventBoundary) res.write(EVENT_BREAK);
    res.write(this.format === "anthropic" ? ANTHROPIC_STREAM_ERROR : OPENAI_STREAM_ERROR);
    res.end();
  }

  /**
   * The provider failed mid-body. An SSE client gets a well-formed error event in its own format and a clean end;
   * a JSON client that has seen no byte gets a 502, and one that has seen part of a body gets the connection closed
   * (a truncated body with a clean end would read as a complete, corrupt answer).
   */
  private relayFailure(): void {
    if (!this.exchange.open) return;
    const exchange = this.exchange;
    exchange.onAbort = null;
    if (this.sse) {
      exchange.finished = true;
      exchange.res.cork(() => this.writeFailure());
    } else if (!this.headersSent) {
      exchange.sendJson(statusLine(502), UPSTREAM_FAILED_BODY);
    } else {
      exchange.finished = true;
      exchange.res.close();
    }
    this.finish("upstream_failed");
  }

  private clientAborted(): void {
    this.answer.body.destroy();
    this.finish("client_aborted");
  }

  private finish(outcome: RelayOutcome): void {
    if (this.ended) return;
    this.ended = true;
    this.held = null;
    const body = this.answer.body;
    body.off("data", this.onData);
    body.off("end", this.onEnd);
    // Keep a no-op error listener: destroying the body after abort may still emit one.
    body.off("error", this.onError);
    body.on("error", ignore);
    if (outcome !== "complete") body.destroy();
    this.done.relayDone(outcome, this.scanner);
  }
}

function ignore(): void {}

function joined(head: Buffer, tail: Buffer | null): Buffer {
  return tail === null || tail.length === 0 ? head : Buffer.concat([head, tail]);
}

function contentTypeOf(headers: UpstreamResponse["headers"]): string {
  const value = headers["content-type"];
  return typeof value === "string" ? value : "";
}

function endsWithEventBreak(buf: Buffer): boolean {
  const n = buf.length;
  return n >= 2 && buf[n - 1] === 0x0a && (buf[n - 2] === 0x0a || (n >= 4 && buf[n - 2] === 0x0d && buf[n - 3] === 0x0a));
}
