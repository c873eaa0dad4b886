// Bare passthrough (own process): uWebSockets.js + the gateway's undici upstream client, relaying a body to the mock and streaming the answer back, no policy.
//   node --import tsx test/bench/bare-passthrough.ts --upstream http://127.0.0.1:MOCK   (prints its URL as the first stdout line)
import { parseArgs } from "node:util";
import type { HttpResponse } from "uWebSockets.js";
import { UpstreamAbort } from "../../data-plane/relay/upstream-abort.ts";
import { createUpstreamClient, type UpstreamBody } from "../../data-plane/relay/upstream-client.ts";
import { statusLine } from "../../data-plane/server/errors.ts";
import { loadUws } from "../../data-plane/server/native-uws.ts";

const { values } = parseArgs({ options: { upstream: { type: "string" }, port: { type: "string", default: "0" } } });
if (!values.upstream) {
  console.error("--upstream is required");
  process.exit(2);
}
const upstreamUrl = `${values.upstream}/v1/chat/completions`;
const uws = loadUws({ allowFallback: false });
const client = createUpstreamClient();

/**
 * Relays the upstream body as it arrives, like the gateway's relay (data-plane/server/relay-response.ts) minus the
 * usage scanning: writes inside cork() (data arrives outside any uWS callback), pauses the upstream body when write()
 * reports backpressure and resumes it from onWritable, and writes a JSON body one chunk behind so that a one-chunk
 * answer leaves in a single send with its headers.
 */
function relay(res: HttpResponse, state: { aborted: boolean }, body: Buffer): void {
  const upstreamAbort = new UpstreamAbort();
  let upstream: UpstreamBody | null = null;
  let paused = false;
  let finished = false;
  res.onAborted(() => {
    state.aborted = true;
    upstreamAbort.abort();
    upstream?.destroy();
  });
  res.onWritable(() => {
    if (paused && !state.aborted) {
      paused = false;
      upstream?.resume();
    }
    return true;
  });
  const open = () => !state.aborted && !finished;
  client.call({ url: upstreamUrl, method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body }, upstreamAbort).then(
    (answer) => {
      if (!open()) return void answer.body.destroy();
      upstream = answer.body;
      let headersSent = false;
      let pending: Buffer | null = null;
      let writeOk = true;
      const writeHead = () => {
        res.writeStatus(statusLine(answer.status));
        const type = answer.headers["content-type"];
        if (typeof type === "string") res.writeHeader("content-type", type);
        headersSent = true;
      };
      const corkedWrite = () => {
        if (!headersSent) writeHead();
        writeOk = res.write(pending!);
      };
      const sse = String(answer.headers["content-type"] ?? "").startsWith("text/event-stream");
      let held: Buffer | null = null;
      answer.body.on("data", (chunk: Buffer) => {
        if (!open()) return;
        if (!sse) {
          const previous = held;
          held = chunk;
          if (previous === null) return;
          chunk = previous;
        }
        pending = chunk;
        res.cork(corkedWrite);
        pending = null;
        if (!writeOk && !paused) {
          paused = true;
          answer.body.pause();
        }
      });
      answer.body.on("end", () => {
        if (!open()) return;
        finished = true;
        res.cork(() => {
          if (!headersSent) writeHead();
          if (held === null) res.end();
          else res.end(held);
        });
      });
      answer.body.on("error", () => {
        if (!open()) return;
        finished = true;
        res.cork(() => res.close());
      });
    },
    () => {
      if (!open()) return;
      finished = true;
      res.cork(() => res.writeStatus("502 Bad Gateway").end());
    },
  );
}

uws
  .App()
  .post("/v1/chat/completions", (res) => {
    const state = { aborted: false };
    const parts: Buffer[] = [];
    res.onAborted(() => (state.aborted = true));
    res.onData((chunk, isLast) => {
      parts.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) relay(res, state, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    });
  })
  .listen("127.0.0.1", Number(values.port), (socket) => {
    if (socket === false) {
      console.error("bare passthrough could not listen");
      process.exit(1);
    }
    console.log(`http://127.0.0.1:${uws.us_socket_local_port(socket)}`);
  });

process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
