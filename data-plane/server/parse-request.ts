// Parses an inference request body just enough to route it: a JSON object with a non-empty string `model`.

export interface ParsedRequest {
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
}

/** The parsed request, or the message of a 400 invalid_request. */
export function parseInferenceBody(raw: Buffer): ParsedRequest | string {
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
  return { body: record, model, stream: record.stream === true };
}
