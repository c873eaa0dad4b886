// Usage of a non-streamed JSON response (chat, messages, embeddings): bytes pass through, the top-level `usage` is read once.
// A body cut short (or without usage) is incomplete: nothing in it is counted as produced output, since a JSON answer
// has no deltas to count; the gateway then charges its input estimate only (server/finish-call.ts).
import type { UsageCounts, UsageScanner } from "../contracts.ts";
import { isObject, lastUsageObject, parseObjectAt, zeroUsage } from "./usage-marker.ts";

const EMPTY = Buffer.alloc(0);
// Chat bodies are a few KB and parse once in well under a millisecond; embeddings can be megabytes of floats, so past
// this size only the end of the body is kept, where the providers put the top-level `usage`.
const FULL_PARSE_MAX = 256 * 1024;
const TAIL_BYTES = 64 * 1024;

export class JsonUsageScanner implements UsageScanner {
  private chunks: Buffer[] = [];
  private held = 0;
  private tailOnly = false;
  private counts: UsageCounts | null = null;
  private found = false;

  /** `read` turns the provider's `usage` object into counts. */
  constructor(private readonly read: (usage: Record<string, unknown>) => UsageCounts) {}

  push(chunk: Buffer): Buffer {
    // Holding a reference is safe: forwarded buffers are never written to again.
    this.chunks.push(chunk);
    this.held += chunk.length;
    if (this.held > FULL_PARSE_MAX) this.tailOnly = true;
    if (this.tailOnly) {
      while (this.chunks.length > 1 && this.held - this.chunks[0]!.length >= TAIL_BYTES) {
        this.held -= this.chunks.shift()!.length;
      }
    }
    return chunk;
  }

  flush(): Buffer {
    return EMPTY;
  }

  usage(): UsageCounts {
    this.counts ??= this.readCounts();
    return this.counts;
  }

  complete(): boolean {
    this.usage();
    return this.found;
  }

  producedEvents(): number {
    return 0;
  }

  /** A JSON answer's failure is its status; a 2xx body is not inspected for errors. */
  providerFailed(): boolean {
    return false;
  }

  private readCounts(): UsageCounts {
    if (this.chunks.length === 0) return zeroUsage();
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    const usage = this.tailOnly ? usageFromTail(body) : usageFromWhole(body);
    if (!isObject(usage)) return zeroUsage();
    this.found = true;
    return this.read(usage);
  }
}

function usageFromWhole(body: Buffer): unknown {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    return isObject(parsed) ? parsed.usage : undefined;
  } catch {
    return undefined;
  }
}

function usageFromTail(body: Buffer): unknown {
  const brace = lastUsageObject(body);
  return brace === -1 ? undefined : parseObjectAt(body, brace);
}
