// Slow SSE readers (own process): N streamed chat completions over raw TCP sockets, each read at a few KB/s, so the
// server behind must hold back; prints a JSON progress line every --report-ms and a last one with `"final": true`.
//   node --import tsx test/bench/slow-readers.ts --url http://127.0.0.1:PORT/v1/chat/completions --model M [--key K]
//        [--streams 50] [--bytes-per-second 4096] [--read-size 1024] [--seconds 8] [--report-ms 500] [--max-tokens N]
// Raw sockets with a fixed read buffer (net's `onread`) take at most --read-size bytes from the kernel per read, so
// `read` is exactly what left the kernel: nothing waits in a client-side buffer.
import { connect, type Socket } from "node:net";
import { parseArgs } from "node:util";

export interface SlowReadersProgress {
  /** ms since start. */
  t: number;
  /** Bytes taken from the kernel by all readers (response head and chunked framing included). */
  read: number;
  open: number;
  /** Streams whose connection ended before the run did (e.g. a server timeout), and other failures. */
  closedEarly: number;
  errors: number;
  firstError: string | null;
  final?: boolean;
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    model: { type: "string" },
    key: { type: "string", default: "sk-bench" },
    streams: { type: "string", default: "50" },
    "bytes-per-second": { type: "string", default: "4096" },
    "read-size": { type: "string", default: "1024" },
    seconds: { type: "string", default: "8" },
    "report-ms": { type: "string", default: "500" },
    "max-tokens": { type: "string", default: "100000" },
  },
});
if (!values.url || !values.model) {
  console.error("--url and --model are required");
  process.exit(2);
}

const target = new URL(values.url);
const rate = Number(values["bytes-per-second"]);
const readSize = Number(values["read-size"]);
// Asking for usage ourselves keeps the gateway from cutting bytes out of the stream (the usage: null members it hides
// from clients that did not ask), which the held-bytes arithmetic (received upstream − sent to clients) would count.
const body = JSON.stringify({
  model: values.model,
  max_tokens: Number(values["max-tokens"]),
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: "Hello" }],
});
const head = [
  `POST ${target.pathname} HTTP/1.1`,
  `host: ${target.host}`,
  `authorization: Bearer ${values.key}`,
  "content-type: application/json",
  `content-length: ${Buffer.byteLength(body)}`,
  "",
  "",
].join("\r\n");

const start = performance.now();
const progress: SlowReadersProgress = { t: 0, read: 0, open: 0, closedEarly: 0, errors: 0, firstError: null };
let stopping = false;
const sockets = new Set<Socket>();

function fail(message: string): void {
  progress.errors++;
  progress.firstError ??= message;
}

function openStream(): void {
  let first = true;
  const socket: Socket = connect({
    host: target.hostname,
    port: Number(target.port),
    onread: {
      buffer: Buffer.alloc(readSize),
      callback(n: number, buf: Uint8Array): boolean {
        if (first) {
          first = false;
          const status = Buffer.from(buf.subarray(0, n)).toString("latin1").split("\r\n", 1)[0]!;
          if (!status.startsWith("HTTP/1.1 200")) fail(`${status} ${Buffer.from(buf.subarray(0, n)).toString("utf8").split("\r\n\r\n")[1]?.slice(0, 200) ?? ""}`);
        }
        progress.read += n;
        // Pause for as long as reading n bytes at the rate takes: false pauses the socket until resume().
        setTimeout(() => stopping || socket.resume(), (n / rate) * 1000);
        return false;
      },
    },
  });
  sockets.add(socket);
  socket.setNoDelay(true);
  socket.on("connect", () => {
    progress.open++;
    socket.write(head + body);
  });
  socket.on("error", (error) => stopping || fail(error.message));
  socket.on("close", () => {
    sockets.delete(socket);
    if (!stopping) {
      progress.open--;
      progress.closedEarly++;
    }
  });
}

const report = (final = false) => {
  progress.t = Math.round(performance.now() - start);
  process.stdout.write(`${JSON.stringify(final ? { ...progress, final } : progress)}\n`);
};

for (let i = 0; i < Number(values.streams); i++) openStream();
const timer = setInterval(report, Number(values["report-ms"]));
// The end falls between two reports: a report at the very end raced the teardown, and the bench then read the relay's
// sockets after they were gone (one run counted 0 of 20 upstream reads paused from such a last report).
setTimeout(() => {
  stopping = true;
  clearInterval(timer);
  report(true);
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}, Number(values.seconds) * 1000 + Number(values["report-ms"]) / 2);
