// One client request/response on uWS: tracks abort and completion so nothing touches the response after either.
import type { HttpResponse } from "uWebSockets.js";
import { type GatewayError } from "./errors.ts";

const JSON_TYPE = "application/json";

/**
 * Creating an Exchange registers the response's onAborted handler, which uWS requires before a handler returns
 * without responding (else std::terminate). Every later write checks `open` first, because touching an aborted
 * response throws, and corks, because writes outside the handler's own tick are otherwise sent piecemeal.
 */
export class Exchange {
  aborted = false;
  finished = false;
  /** Called once when the client goes away before the response finished (e.g. to abort the upstream call). */
  onAbort: (() => void) | null = null;

  constructor(readonly res: HttpResponse) {
    res.onAborted(() => {
      this.aborted = true;
      const onAbort = this.onAbort;
      this.onAbort = null;
      onAbort?.();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.finished;
  }

  /** Sends a whole JSON response; a no-op once aborted or finished. */
  sendJson(statusLine: string, body: string, headers?: Record<string, string>, closeConnection = false): void {
    if (!this.open) return;
    this.finished = true;
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine);
      if (headers !== undefined) for (const name in headers) res.writeHeader(name, headers[name]!);
      res.writeHeader("content-type", JSON_TYPE);
      res.end(body, closeConnection);
    });
  }

  sendError(error: GatewayError, headers?: Record<string, string>, closeConnection = false): void {
    this.sendJson(error.statusLine, error.body, headers, closeConnection);
  }

  sendText(statusLine: string, contentType: string, body: string): void {
    if (!this.open) return;
    this.finished = true;
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine).writeHeader("content-type", contentType).end(body);
    });
  }
}
