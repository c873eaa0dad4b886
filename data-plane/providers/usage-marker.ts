// Byte-level search for a `"usage": {` member, so scanners parse only the few bytes that can carry token counts.
import type { UsageCounts } from "../contracts.ts";
import { ByteNeedle } from "./byte-needle.ts";

const MARKER = new ByteNeedle('"usage"');

/** Where the next `"usage"` key (of any value) starts at or after `from`, or -1: one search serves many events. */
export function nextUsageKey(buf: Buffer, from: number): number {
  return MARKER.indexIn(buf, from);
}

/**
 * The bytes of the `"usage": null` member whose key starts at `key`, with the comma that separates it from its
 * neighbour (the one before it, else the one after), so that cutting them leaves valid JSON; null when the value is
 * not `null`.
 */
export function nullUsageMember(buf: Buffer, key: number, end: number): { from: number; to: number } | null {
  const value = valueIndex(buf, key + MARKER.length, end);
  // Byte by byte: a native compare costs more per call than these four reads.
  if (value === -1 || value + 4 > end || buf[value] !== 0x6e || buf[value + 1] !== 0x75 || buf[value + 2] !== 0x6c || buf[value + 3] !== 0x6c) return null;
  const after = value + 4;
  let before = key - 1;
  while (before >= 0 && isSpace(buf[before]!)) before--;
  if (before >= 0 && buf[before] === 0x2c /* , */) return { from: before, to: after };
  let next = after;
  while (next < end && isSpace(buf[next]!)) next++;
  return buf[next] === 0x2c ? { from: key, to: next + 1 } : null;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** What the `"usage"` key at `key` holds, judged by its value's first byte (callers parse objects to be sure). */
export function usageValueAt(buf: Buffer, key: number, end: number): "object" | "null" | "other" {
  const c = valueStart(buf, key + MARKER.length, end);
  return c === 0x7b /* { */ ? "object" : c === 0x6e /* n */ ? "null" : "other";
}

/** Index of the opening brace of the last `"usage": {…}` member in buf, or -1. */
export function lastUsageObject(buf: Buffer): number {
  for (let at = buf.lastIndexOf(MARKER.bytes); at !== -1; at = at === 0 ? -1 : buf.lastIndexOf(MARKER.bytes, at - 1)) {
    const brace = valueIndex(buf, at + MARKER.length, buf.length);
    if (brace !== -1 && buf[brace] === 0x7b) return brace;
  }
  return -1;
}

/** Parses the JSON object that opens at `brace`, or returns undefined when it is cut off or malformed. */
export function parseObjectAt(buf: Buffer, brace: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = brace; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d /* } */ && --depth === 0) {
      try {
        return JSON.parse(buf.toString("utf8", brace, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The first byte of the value after a key (skipping whitespace and the colon), or -1. */
function valueStart(buf: Buffer, from: number, end: number): number {
  const at = valueIndex(buf, from, end);
  return at === -1 ? -1 : buf[at]!;
}

function valueIndex(buf: Buffer, from: number, end: number): number {
  let sawColon = false;
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3a /* : */ && !sawColon) {
      sawColon = true;
      continue;
    }
    return sawColon ? i : -1;
  }
  return -1;
}

/** A non-negative integer token count, or 0 for anything else (missing, null, garbage). */
export function tokenCount(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

export function zeroUsage(): UsageCounts {
  return { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
