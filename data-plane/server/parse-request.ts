// Parses an inference request body just enough to route it: a JSON object with a non-empty string `model`.
import { isUtf8 } from "node:buffer";

export interface ParsedRequest {
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  /** The client's bytes, for the upstream body (splice-model.ts); let go once a provider has answered. */
  raw: Buffer | null;
}

/** The parsed request, or the message of a 400 invalid_request. */
export function parseInferenceBody(raw: Buffer): ParsedRequest | string {
  // JSON must be UTF-8 (RFC 8259); decoding bad bytes as U+FFFD would silently change what the provider reads.
  if (!isUtf8(raw)) return "The request body is not valid UTF-8";
  let body: unknown;
  try {
    body = JSON.parse(raw.toString("utf8"));
  } catch {
    return "The request body is not valid JSON";
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "The request body must be a JSON object";
  const record = body as Record<string, unknown>;
  const model = record.model;
  if (typeof model !== "string" || model === "") return "`model` must be a non-empty string naming a model";
  if (record.stream !== undefined && typeof record.stream !== "boolean") return "`stream` must be true or false";
  // The gateway reads these itself (the budget reservation, the usage it asks a stream for), so it judges their types;
  // every other field is the provider's to judge, and its 400 is relayed.
  if (!isTokenCount(record.max_tokens)) return "`max_tokens` must be a positive integer";
  if (!isTokenCount(record.max_completion_tokens)) return "`max_completion_tokens` must be a positive integer";
  const options = record.stream_options;
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) return "`stream_options` must be an object";
  return { body: record, model, stream: record.stream === true, raw };
}

const isTokenCount = (value: unknown): boolean => value === undefined || value === null || (Number.isSafeInteger(value) && (value as number) >= 1);
