// Caps the request body before yoga reads any of it: a declared Content-Length over the limit is refused at once,
// a chunked body is counted as it arrives and cut off at the limit, so nothing is ever buffered past it.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform } from "node:stream";

/** Returns the request yoga should read, or null when it was refused (the 413 is already sent). */
export function limitRequestBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): IncomingMessage | null {
  const declared = req.headers["content-length"];
  if (declared !== undefined) {
    // Node's parser delivers exactly Content-Length bytes (and rejects malformed values), so the header is enough.
    if (Number(declared) <= maxBytes) return req;
    refuseTooLarge(res, maxBytes);
    return null;
  }
  if (req.headers["transfer-encoding"] === undefined) return req; // no body
  return countedRequest(req, res, maxBytes);
}

function countedRequest(req: IncomingMessage, res: ServerResponse, maxBytes: number): IncomingMessage {
  let received = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received <= maxBytes) return done(null, chunk);
      req.unpipe(counted);
      refuseTooLarge(res, maxBytes);
      // Yoga's read fails; its own answer is dropped because the response has already ended.
      done(new Error(`request body over ${maxBytes} bytes`));
    },
  });
  // Once refused, the error only stops yoga's read; it may come before yoga listens, and must not crash the process.
  counted.on("error", () => undefined);
  // `pipe` does not pass on an abandoned upload: end yoga's read rather than leave it waiting.
  req.once("close", () => {
    if (!req.complete) counted.destroy(new Error("the client abandoned the request body"));
  });
  req.pipe(counted);
  // Yoga reads the request line, headers and socket as well as the body: give it those of the real request.
  return Object.assign(counted, {
    method: req.method,
    url: req.url,
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    httpVersion: req.httpVersion,
    socket: req.socket,
  }) as unknown as IncomingMessage;
}

function refuseTooLarge(res: ServerResponse, maxBytes: number): void {
  if (res.headersSent) return;
  const body = JSON.stringify({
    errors: [{ message: `request body too large (max ${maxBytes} bytes)`, extensions: { code: "PAYLOAD_TOO_LARGE" } }],
  });
  // `connection: close`: the unread rest of the body is not worth reading; the socket closes once the answer is out.
  res.writeHead(413, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
}
