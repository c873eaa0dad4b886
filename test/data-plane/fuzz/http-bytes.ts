// Builds the bytes of one HTTP/1.1 request, framed as asked: a true or false Content-Length, chunked, or none.

export type Framing =
  | { kind: "length" }
  | { kind: "none" }
  /** Content-Length says this, whatever the body is. */
  | { kind: "declared"; value: string }
  /** Transfer-Encoding: chunked, the body cut into chunks of these sizes (the rest in one last chunk). */
  | { kind: "chunked"; sizes: number[]; terminate: boolean };

export interface HttpRequestSpec {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer | null;
  framing: Framing;
  /** Leave out the Host header (uWS refuses HTTP/1.1 without it). */
  noHost?: boolean;
}

const CRLF = "\r\n";

/** The request as TCP segments: the head (with any unchunked body) first, then one part per chunk. */
export function requestBytes(spec: HttpRequestSpec): Buffer[] {
  const lines = [`${spec.method} ${spec.path} HTTP/1.1`];
  if (!spec.noHost) lines.push("Host: 127.0.0.1");
  for (const [name, value] of spec.headers) lines.push(`${name}: ${value}`);
  const body = spec.body ?? Buffer.alloc(0);
  const framing = spec.framing;
  if (framing.kind === "length" && spec.body !== null) lines.push(`Content-Length: ${body.length}`);
  if (framing.kind === "declared") lines.push(`Content-Length: ${framing.value}`);
  if (framing.kind === "chunked") lines.push("Transfer-Encoding: chunked");
  const head = Buffer.from(lines.join(CRLF) + CRLF + CRLF, "latin1");
  if (framing.kind !== "chunked") return [Buffer.concat([head, body])];
  const parts: Buffer[] = [head];
  let at = 0;
  for (const size of framing.sizes) {
    if (at >= body.length) break;
    const piece = body.subarray(at, Math.min(body.length, at + Math.max(1, size)));
    parts.push(chunk(piece));
    at += piece.length;
  }
  if (at < body.length) parts.push(chunk(body.subarray(at)));
  if (framing.terminate) parts.push(Buffer.from(`0${CRLF}${CRLF}`, "latin1"));
  return parts;
}

function chunk(piece: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${piece.length.toString(16)}${CRLF}`, "latin1"), piece, Buffer.from(CRLF, "latin1")]);
}

export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), "utf8");
