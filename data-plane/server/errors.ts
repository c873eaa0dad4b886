// The one table of gateway errors: each kind's HTTP status and JSON body (DESIGN.md "Data plane contract").
import { STATUS_CODES } from "node:http";

export type GatewayErrorKind =
  | "invalid_api_key"
  | "access_denied"
  | "model_not_found"
  | "rate_limited"
  | "budget_exceeded"
  | "invalid_request"
  | "payload_too_large"
  | "no_available_route"
  | "unavailable"
  | "not_found"
  | "internal_error";

interface ErrorSpec {
  status: number;
  message: string;
}

const TABLE: Record<GatewayErrorKind, ErrorSpec> = {
  invalid_api_key: { status: 401, message: "Missing or invalid API key" },
  access_denied: { status: 403, message: "You do not have access to this model" },
  model_not_found: { status: 404, message: "The model does not exist" },
  rate_limited: { status: 429, message: "Rate limit exceeded" },
  budget_exceeded: { status: 402, message: "Budget exceeded" },
  invalid_request: { status: 400, message: "The request body is not valid" },
  payload_too_large: { status: 413, message: "The request body is too large" },
  no_available_route: { status: 503, message: "No route to this model is available" },
  unavailable: { status: 503, message: "The gateway cannot decide on this request right now; try again" },
  not_found: { status: 404, message: "No such endpoint" },
  internal_error: { status: 500, message: "The gateway failed to handle this request" },
};

export interface GatewayError {
  kind: GatewayErrorKind;
  /** "401 Unauthorized": what uWS writeStatus wants. */
  statusLine: string;
  status: number;
  /** The JSON body, encoded once here for the static messages. */
  body: string;
}

const STATUS_LINES = new Map<number, string>();

/** "200 OK", "404 Not Found": cached, since uWS wants the whole status line and upstream statuses repeat. */
export function statusLine(status: number): string {
  let line = STATUS_LINES.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? "Unknown"}`;
    STATUS_LINES.set(status, line);
  }
  return line;
}

function encode(kind: GatewayErrorKind, message: string): GatewayError {
  const { status } = TABLE[kind];
  return { kind, status, statusLine: statusLine(status), body: JSON.stringify({ error: kind, message }) };
}

const STATIC = Object.fromEntries(
  (Object.keys(TABLE) as GatewayErrorKind[]).map((kind) => [kind, encode(kind, TABLE[kind].message)]),
) as Record<GatewayErrorKind, GatewayError>;

/** The error of this kind: the precomputed body, or one with a more specific message (encoded on the spot). */
export function gatewayError(kind: GatewayErrorKind, message?: string): GatewayError {
  return message === undefined ? STATIC[kind] : encode(kind, message);
}

export const errorStatus = (kind: GatewayErrorKind): number => TABLE[kind].status;
