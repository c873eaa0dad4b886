// The switch that cuts an upstream call: a one-shot EventEmitter, which undici takes as a request's signal.
import { EventEmitter } from "node:events";

/**
 * Aborts one upstream call, like an AbortController, for a fraction of its cost. Every admitted request makes one, and
 * undici adds and removes an abort listener on it: with an AbortController that costs 5–7 µs a request on node 20,
 * with an EventEmitter about 0.15 µs (micro-benchmark on the bench host, issue 5), a few percent of the gateway's CPU.
 * undici reads `aborted` and listens for `abort`, and fails the call or the body with its RequestAbortedError.
 */
export class UpstreamAbort extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit("abort");
  }
}
