// Finds complete server-sent events across TCP chunk boundaries, hands only usage-bearing ones to a format's parser and
// counts the content deltas among them (what a stream cut before its usage report is charged for).
import type { UsageCounts, UsageScanner } from "../contracts.ts";
import type { ByteNeedle } from "./byte-needle.ts";
import { nextUsageKey, nullUsageMember, usageValueAt } from "./usage-marker.ts";

const EMPTY = Buffer.alloc(0);
/** Below any event start, so the first event of a buffer searches for the marker. */
const NOT_SEARCHED = -2;
// No real LLM stream sends a single event this large; past it we stop scanning rather than buffer without bound.
const MAX_EVENT_BYTES = 1 << 20;

/**
 * Base of the SSE scanners. Bytes pass through unchanged; only events containing a `"usage": {` member are decoded.
 * With `holdBack`, an incomplete trailing event is held until its end arrives, so that a whole event can be dropped
 * (the usage chunk we injected); a partial SSE event is useless to a client anyway, so this adds no visible delay.
 * `holdBack` also cuts the `"usage":null` member that asking for usage adds to every other chunk (OpenAI's
 * documented behaviour), so a client that did not ask receives the bytes it would have received without the option.
 *
 * An event counts as a produced content delta when it contains one of the format's `outputMarkers` followed by a byte
 * other than `"` (so `"content":""` does not count). Inside JSON strings quotes are escaped, so a marker ending in a
 * quote cannot match text the model wrote. Like the usage key, each marker is searched once per run of events rather
 * than once per event, so counting stays linear in the bytes and parses nothing.
 */
export abstract class SseUsageScanner implements UsageScanner {
  private tail: Buffer = EMPTY;
  private resumeAt = 0;
  private disabled = false;
  private produced = 0;
  private errorSeen = false;
  /** Per marker, its next position in the buffer being scanned at or after the current event; -1 when none is left. */
  private readonly markerAt: number[];

  constructor(
    private readonly holdBack: boolean,
    private readonly outputMarkers: readonly ByteNeedle[],
    /** How the format's error event begins (its first line); events are checked at their start, so text never matches. */
    private readonly errorStarts: readonly Buffer[],
  ) {
    this.markerAt = outputMarkers.map(() => NOT_SEARCHED);
  }

  /** Called with the parsed `data:` of each event carrying a usage object; returns true to drop the event (holdBack only). */
  protected abstract onUsageEvent(data: unknown): boolean;

  abstract usage(): UsageCounts;

  abstract complete(): boolean;

  producedEvents(): number {
    return this.produced;
  }

  providerFailed(): boolean {
    return this.errorSeen;
  }

  push(chunk: Buffer): Buffer {
    if (this.disabled) return chunk;
    const buf = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    let start = 0;
    let drops: number[] | null = null;
    // One cursor over the `"usage"` keys of the whole buffer: each search serves the events up to the key it finds
    // (native searches cost more per call than per byte, and with include_usage every event has a key).
    let key = nextUsageKey(buf, 0);
    this.markerAt.fill(NOT_SEARCHED);
    for (let end = eventEnd(buf, this.resumeAt); end !== -1; end = eventEnd(buf, start)) {
      let dropEvent = false;
      while (key !== -1 && key < end) {
        if (key >= start && !dropEvent) {
          const value = usageValueAt(buf, key, end);
          if (value === "object") dropEvent = this.inspect(buf, start, end) && this.holdBack;
          else if (value === "null" && this.holdBack) {
            const member = nullUsageMember(buf, key, end);
            if (member !== null) (drops ??= []).push(member.from, member.to);
          }
        }
        key = nextUsageKey(buf, key + 1);
      }
      if (dropEvent) {
        // The whole event goes, null members already marked in it included.
        while (drops !== null && drops.length > 0 && drops[drops.length - 2]! >= start) drops.length -= 2;
        (drops ??= []).push(start, end);
      }
      if (this.isOutput(buf, start, end)) this.produced++;
      else if (!this.errorSeen && startsWithAny(buf, start, this.errorStarts)) this.errorSeen = true;
      start = end;
    }
    const incomplete = buf.length - start;
    if (incomplete > MAX_EVENT_BYTES) return this.giveUp(buf, start, drops, chunk);
    // Copy the tail: the caller owns `chunk` and may hand it on.
    this.tail = incomplete === 0 ? EMPTY : Buffer.from(buf.subarray(start));
    // A boundary can straddle chunks ("\n" | "\r\n"), so rescan the tail's last two bytes next time.
    this.resumeAt = incomplete > 2 ? incomplete - 2 : 0;
    if (!this.holdBack) return chunk;
    return forwarded(buf, start, drops);
  }

  flush(): Buffer {
    const rest = this.tail;
    this.tail = EMPTY;
    // A last event without its blank line (stream cut or sloppy server) still counts.
    if (rest.length === 0 || this.disabled) return EMPTY;
    this.markerAt.fill(NOT_SEARCHED);
    if (this.isOutput(rest, 0, rest.length)) this.produced++;
    else if (!this.errorSeen && startsWithAny(rest, 0, this.errorStarts)) this.errorSeen = true;
    const key = nextUsageKey(rest, 0);
    const drop = key !== -1 && hasUsageObject(rest, key) && this.inspect(rest, 0, rest.length);
    if (!this.holdBack || drop) return EMPTY;
    return key === -1 ? rest : forwarded(rest, rest.length, this.dropNullUsage(rest, key, rest.length, null));
  }

  /** Adds the [from, to) of every `"usage": null` member in the event from `key` to `end`, in order. */
  private dropNullUsage(buf: Buffer, key: number, end: number, drops: number[] | null): number[] | null {
    for (let at = key; at !== -1 && at < end; at = nextUsageKey(buf, at + 1)) {
      const member = nullUsageMember(buf, at, end);
      if (member !== null) (drops ??= []).push(member.from, member.to);
    }
    return drops;
  }

  /** Parses an event known to hold a usage object and hands it on; true to drop it. */
  private inspect(buf: Buffer, start: number, end: number): boolean {
    const data = eventData(buf, start, end);
    if (data === undefined) return false;
    return this.onUsageEvent(data);
  }

  /** Whether [start, end) holds a non-empty output marker; events must be visited in order within one buffer. */
  private isOutput(buf: Buffer, start: number, end: number): boolean {
    const markers = this.outputMarkers;
    const at = this.markerAt;
    for (let i = 0; i < markers.length; i++) {
      let pos = at[i]!;
      if (pos === -1) continue;
      const marker = markers[i]!;
      if (pos < start) pos = marker.indexIn(buf, start);
      // An empty string value is no output; another occurrence may follow in the same event.
      while (pos !== -1 && pos < end && buf[pos + marker.length] === 0x22) pos = marker.indexIn(buf, pos + marker.length);
      at[i] = pos;
      if (pos !== -1 && pos < end) return true;
    }
    return false;
  }

  private giveUp(buf: Buffer, start: number, drops: number[] | null, chunk: Buffer): Buffer {
    this.disabled = true;
    this.tail = EMPTY;
    if (!this.holdBack) return chunk;
    const head = forwarded(buf, start, drops);
    return Buffer.concat([head, buf.subarray(start)]);
  }
}

function startsWithAny(buf: Buffer, at: number, prefixes: readonly Buffer[]): boolean {
  for (const prefix of prefixes) if (buf.length - at >= prefix.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0) return true;
  return false;
}

function hasUsageObject(buf: Buffer, key: number): boolean {
  for (let at = key; at !== -1; at = nextUsageKey(buf, at + 1)) if (usageValueAt(buf, at, buf.length) === "object") return true;
  return false;
}

/** The bytes of buf before `start`, minus the dropped [from, to) ranges. */
function forwarded(buf: Buffer, start: number, drops: number[] | null): Buffer {
  if (drops === null) return start === buf.length ? buf : buf.subarray(0, start);
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < drops.length; i += 2) {
    if (drops[i]! > at) parts.push(buf.subarray(at, drops[i]));
    at = drops[i + 1]!;
  }
  if (start > at) parts.push(buf.subarray(at, start));
  return Buffer.concat(parts);
}

/** End (exclusive) of the first event ending at or after `from`: a line break followed by a blank line, or -1. */
function eventEnd(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(0x0a, from); i !== -1; i = buf.indexOf(0x0a, i + 1)) {
    const next = buf[i + 1];
    if (next === 0x0a) return i + 2;
    if (next === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

/** The event's `data:` lines joined and parsed as JSON, or undefined when they are not JSON. */
function eventData(buf: Buffer, start: number, end: number): unknown {
  const text = buf.toString("utf8", start, end);
  let data = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === "" ? value : `${data}\n${value}`;
  }
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}
