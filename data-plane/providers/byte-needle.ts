// A byte string searched for in response buffers: memchr on its rarest byte, the rest compared in JS (or one native
// substring search when even its rarest byte is common).

/**
 * What provider events look like, for picking each needle's rarest byte: an OpenAI chunk and Anthropic deltas.
 * Buffer.indexOf with a multi-byte needle costs ~220 ns per call however near the match is (test/bench/needle-cost.ts
 * measures both searches per stream); scanners search once or twice per SSE event, and events are ~150 bytes, so the
 * call dominated. A one-byte search is a memchr, ~4× cheaper here per match found.
 */
const TYPICAL_EVENTS = Buffer.from(
  'data: {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,' +
    '"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" the"},' +
    '"logprobs":null,"finish_reason":null}],"usage":null}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}\n\n',
);

/**
 * Each anchor byte found that does not start the needle costs another native call, so a needle whose rarest byte is
 * still common goes to Buffer.indexOf instead. Per 500-event stream (test/bench/needle-cost.ts, 3 runs): `"usage"`
 * (anchor `g`, 4 in TYPICAL_EVENTS) 47–87 µs by memchr vs 186–270 by Buffer.indexOf; `content":"` (anchor `o`, 15)
 * 176–250 vs 140–179. The threshold sits between.
 */
const MAX_ANCHOR_OCCURRENCES = 8;

export class ByteNeedle {
  readonly bytes: Buffer;
  readonly length: number;
  private readonly anchorAt: number;
  private readonly anchor: number;
  private readonly native: boolean;

  constructor(text: string) {
    this.bytes = Buffer.from(text);
    this.length = this.bytes.length;
    let best = 0;
    let bestCount = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.length; i++) {
      const count = occurrences(this.bytes[i]!);
      if (count < bestCount) [best, bestCount] = [i, count];
    }
    this.anchorAt = best;
    this.anchor = this.bytes[best]!;
    this.native = bestCount > MAX_ANCHOR_OCCURRENCES;
  }

  /** The first index ≥ from where the needle starts in buf, or -1 (like buf.indexOf(needle, from)). */
  indexIn(buf: Buffer, from: number): number {
    if (this.native) return buf.indexOf(this.bytes, from);
    const { anchor, anchorAt, bytes, length } = this;
    for (let at = buf.indexOf(anchor, from + anchorAt); at !== -1; at = buf.indexOf(anchor, at + 1)) {
      const start = at - anchorAt;
      if (start + length > buf.length) return -1;
      let i = 0;
      while (i < length && buf[start + i] === bytes[i]) i++;
      if (i === length) return start;
    }
    return -1;
  }
}

function occurrences(byte: number): number {
  let n = 0;
  for (let at = TYPICAL_EVENTS.indexOf(byte); at !== -1; at = TYPICAL_EVENTS.indexOf(byte, at + 1)) n++;
  return n;
}
