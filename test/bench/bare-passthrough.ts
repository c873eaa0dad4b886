// Bare passthrough (own process): uWebSockets.js + the gateway's undici upstream client, relaying a body to the mock and back, no policy.
//   node --import tsx test/bench/bare-passthrough.ts --upstream http://127.0.0.1:MOCK   (prints its URL as the first stdout line)
import { parseArgs } from "node:util";
import type { HttpResponse } from "uWebSockets.js";
import { createUpstreamClient } from "../../data-plane/relay/upstream-client.ts";
import { loadUws } from "../../data-plane/server/native-uws.ts";

const { values } = parseArgs({ options: { upstream: { type: "string" }, port: { type: "string", default: "0" } } });
if (!values.upstream) {
  console.error("--upstream is required");
  process.exit(2);
}
const upstreamUrl = `${values.upstream}/v1/chat/completions`;
const uws = loadUws({ allowFallback: false });
const client = createUpstreamClient();

function relay(res: HttpResponse, state: { aborted: boolean }, body: Buffer): void {
  const controller = new AbortController();
  res.onAborted(() => {
    state.aborted = true;
    controller.abort();
  });
  client.call({ url: upstreamUrl, method: "POST", headers: { "content-type": "application/json", authorization: "Bearer sk-bench" }, body }, controller.signal).then(
    (answer) => {
      const chunks: Buffer[] = [];
      answer.body.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.body.on("error", () => state.aborted || res.cork(() => res.close()));
      answer.body.on("end", () => {
        if (state.aborted) return;
        res.cork(() => {
          res.writeStatus(String(answer.status));
          const type = answer.headers["content-type"];
          if (typeof type === "string") res.writeHeader("content-type", type);
          res.end(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        });
      });
    },
    () => state.aborted || res.cork(() => res.writeStatus("502").end()),
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
