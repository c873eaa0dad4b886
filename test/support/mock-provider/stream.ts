// Streamed answers: writes a format's frames with per-chunk delays, failure controls and backpressure.
import { setTimeout as sleep } from "node:timers/promises";
import { cutConnection, type Exchange } from "./exchange.ts";

/** A stream's bytes, built once per request as strings and written as Buffers (the hot path). */
export interface Frames {
  opening: Buffer;
  /** Sent once per output token. */
  piece: Buffer;
  closing: Buffer;
  /** What the provider sends inside a 200 stream when it fails. */
  error: Buffer;
}

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

const BATCH_BYTES = 16 * 1024;

function drained(x: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      x.res.off("drain", done);
      x.res.off("close", done);
      resolve();
    };
    x.res.on("drain", done);
    x.res.on("close", done);
  });
}

/** Sends nothing more until the connection is gone. */
export function stalled(x: Exchange): Promise<void> {
  return x.gone ? Promise.resolve() : new Promise((resolve) => x.res.once("close", () => resolve()));
}

/** Writes opening, one piece per output token (delayed, failing, honouring backpressure), then closing. */
export async function pump(x: Exchange, frames: Frames, outputTokens: number): Promise<void> {
  const { res, rec } = x;
  const { delayMs, failAfter, failMode, stallAfter } = rec.behavior;
  const failAt = failAfter !== null && failAfter <= outputTokens ? failAfter : -1;
  const stallAt = stallAfter !== null && stallAfter < (failAt === -1 ? outputTokens : failAt) ? stallAfter : -1;
  rec.status = 200;
  res.writeHead(200, SSE_HEADERS);
  // Cork bursts so a fast stream goes out in few syscalls; uncork before every wait or the bytes would sit here.
  let corked = true;
  res.cork();
  const release = (): void => {
    if (corked) (corked = false), res.uncork();
  };
  const stats = x.state.stats;
  const waitDrain = async (): Promise<boolean> => {
    release();
    rec.drainWaits++;
    stats.drainWaits++;
    stats.streamsWaitingDrain++;
    await drained(x);
    stats.streamsWaitingDrain--;
    if (x.gone) return false;
    res.cork(), (corked = true);
    return true;
  };
  x.state.openStreams.add(res);
  res.once("close", () => x.state.openStreams.delete(res));
  stats.streamBytes += frames.opening.length;
  if (!res.write(frames.opening) && !(await waitDrain())) return;
  // Without a delay, pieces go out in ~16 KiB batches (one copy per request, not one write per piece): the bytes on
  // the wire are the same as corked single writes, at a fraction of the cost, and backpressure still applies per batch.
  const stop = stallAt !== -1 ? stallAt : failAt === -1 ? outputTokens : failAt;
  const perBatch = delayMs === 0 ? Math.max(1, Math.min(stop, Math.floor(BATCH_BYTES / frames.piece.length))) : 1;
  const batch = perBatch > 1 ? Buffer.concat(new Array<Buffer>(perBatch).fill(frames.piece)) : frames.piece;
  while (rec.contentChunksSent < stop) {
    if (delayMs > 0) {
      release();
      await sleep(delayMs);
      if (x.gone) return;
      res.cork(), (corked = true);
    }
    const n = Math.min(perBatch, stop - rec.contentChunksSent);
    stats.streamBytes += n * frames.piece.length;
    const ok = res.write(n === perBatch ? batch : batch.subarray(0, n * frames.piece.length));
    rec.contentChunksSent += n;
    if (!ok && !(await waitDrain())) return;
  }
  release();
  if (stallAt !== -1) return stalled(x);
  if (failAt === -1) {
    stats.streamBytes += frames.closing.length;
    res.end(frames.closing);
  } else if (failMode === "event") res.end(frames.error);
  else cutConnection(x);
}
