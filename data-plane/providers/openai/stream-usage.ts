// Asks an OpenAI-format stream for its usage chunk, which is the only place a streamed chat reports token counts.

/**
 * For `stream: true` bodies that did not ask for usage, returns a copy with `stream_options.include_usage = true` and
 * `injected: true`; the gateway then scans with `hideInjectedUsage` so the client sees the stream it asked for.
 * Anything else is returned as is. The client's own `stream_options` members are kept.
 */
export function withStreamUsage(body: Record<string, unknown>): { body: Record<string, unknown>; injected: boolean } {
  if (!needsStreamUsage(body)) return { body, injected: false };
  const options = body.stream_options;
  const kept = typeof options === "object" && options !== null && !Array.isArray(options) ? options : {};
  return { body: { ...body, stream_options: { ...kept, include_usage: true } }, injected: true };
}

/** A `stream: true` body that did not ask for usage itself. */
export function needsStreamUsage(body: Record<string, unknown>): boolean {
  if (body.stream !== true) return false;
  const options = body.stream_options;
  return !(typeof options === "object" && options !== null && (options as Record<string, unknown>).include_usage === true);
}
