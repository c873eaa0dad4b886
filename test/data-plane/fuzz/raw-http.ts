// One raw HTTP/1.1 exchange over a plain TCP socket: sends exactly the given bytes (what HTTP clients refuse to send)
// and reads one response, or reports how the connection ended without one.
import { connect } from "node:net";

export interface RawResponse {
  kind: "response";
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** closed: the server ended the connection without answering; reset: ECONNRESET/EPIPE; timeout: no answer in time. */
export type RawOutcome = RawResponse | { kind: "closed" | "reset" | "timeout" | "not_awaited" };

export interface RawSend {
  /** Written one after another (a short pause between parts, so they arrive as separate TCP segments). */
  parts: Buffer[];
  /** After sending: "wait" for a response (default), "close" the socket at once, or "half-close" (FIN) and wait. */
  then?: "wait" | "close" | "half-close";
  timeoutMs?: number;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export function sendRaw(port: number, send: RawSend): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const received: Buffer[] = [];
    let done = false;
    const finish = (outcome: RawOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(parse(Buffer.concat(received), true) ?? { kind: "timeout" }), send.timeoutMs ?? 10_000);
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      const response = parse(Buffer.concat(received), false);
      if (response !== null) finish(response);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const response = parse(Buffer.concat(received), true);
      finish(response ?? (error.code === "ECONNRESET" || error.code === "EPIPE" ? { kind: "reset" } : { kind: "closed" }));
    });
    socket.on("end", () => finish(parse(Buffer.concat(received), true) ?? { kind: "closed" }));
    socket.on("connect", async () => {
      for (let i = 0; i < send.parts.length; i++) {
        if (done || socket.destroyed) return;
        if (i > 0) await new Promise((r) => setTimeout(r, 1));
        socket.write(send.parts[i]!);
      }
      if (send.then === "close") {
        // Let the bytes leave before the close, so the server sees a body cut short rather than nothing.
        socket.end(() => finish({ kind: "not_awaited" }));
      } else if (send.then === "half-close") socket.end();
    });
  });
}

/** A whole response in `data`, or null while it is incomplete (`ended`: the connection is gone, take what is there). */
function parse(data: Buffer, ended: boolean): RawResponse | null {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd === -1) return null;
  const lines = data.subarray(0, headerEnd).toString("latin1").split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (status === null) return null;
  // An interim answer (100 Continue) comes before the real one.
  if (status[1]!.startsWith("1")) return parse(data.subarray(headerEnd + 4), ended);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = data.subarray(headerEnd + 4);
  const length = headers["content-length"];
  if (length !== undefined) {
    const n = Number(length);
    if (rest.length >= n) return { kind: "response", status: Number(status[1]), headers, body: rest.subarray(0, n) };
    return ended ? { kind: "response", status: Number(status[1]), headers, body: rest } : null;
  }
  if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
    const body = dechunk(rest);
    if (body !== null) return { kind: "response", status: Number(status[1]), headers, body };
    return ended ? { kind: "response", status: Number(status[1]), headers, body: rest } : null;
  }
  return ended ? { kind: "response", status: Number(status[1]), headers, body: rest } : null;
}

function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf("\r\n", at);
    if (lineEnd === -1) return null;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16);
    if (!Number.isFinite(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return null;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
