// Reads a request body with a size cap: 413 as soon as the declared or received length passes it.
import { gatewayError } from "./errors.ts";
import type { Exchange } from "./exchange.ts";

export interface BodySink {
  /** The whole body, copied out of uWS's buffers (they are reused once onData returns). */
  onBody(body: Buffer): void;
}

const TOO_LARGE = gatewayError("payload_too_large");
const EMPTY = Buffer.alloc(0);

/**
 * Taking an Exchange (whose constructor registered onAborted) is what makes it safe for the caller to return from
 * its uWS handler while the body is still arriving. An over-long body is answered with 413 at once and the
 * connection closed, so we neither buffer nor wait for the rest of it.
 */
export function readBody(exchange: Exchange, contentLength: string, maxBytes: number, sink: BodySink): void {
  const declared = contentLength === "" ? -1 : Number(contentLength);
  if (declared > maxBytes) {
    exchange.sendError(TOO_LARGE, undefined, true);
    return;
  }
  // uWS frames the body by its Content-Length, so with one declared we copy straight into one buffer (allocated at the
  // first chunk, not before: a client declaring a large body and sending nothing holds no memory); otherwise chunks
  // are collected and joined at the end.
  const sized = declared > 0 && Number.isSafeInteger(declared);
  let buffer: Buffer | null = null;
  let chunks: Buffer[] | null = null;
  let received = 0;
  exchange.res.onData((chunk, isLast) => {
    if (!exchange.open) return;
    const length = chunk.byteLength;
    if (received + length > maxBytes) {
      exchange.sendError(TOO_LARGE, undefined, true);
      return;
    }
    if (length > 0) {
      if (sized) (buffer ??= Buffer.allocUnsafe(declared)).set(new Uint8Array(chunk), received);
      else (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
      received += length;
    }
    if (!isLast) return;
    const body = buffer !== null ? buffer.subarray(0, received) : chunks === null ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
    buffer = null;
    chunks = null;
    sink.onBody(body);
  });
}
