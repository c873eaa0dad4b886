// A chat request the size of a coding agent's (Claude Code sends 50–200 KB: a long system prompt, tool schemas, the
// conversation so far), for the latency section's large-body workload.

/** A chat completion body of at least `bytes` bytes for `model`: an 8 KB system message, 20 tools, then messages. */
export function largeChatBody(model: string, bytes: number): string {
  const tools = Array.from({ length: 20 }, (_, i) => ({
    type: "function",
    function: {
      name: `tool_${i}`,
      description: `Runs step ${i} of the build. ${"Reads the workspace and reports what changed. ".repeat(8)}`,
      parameters: { type: "object", properties: { path: { type: "string" }, limit: { type: "number" } }, required: ["path"] },
    },
  }));
  const messages: { role: string; content: string }[] = [{ role: "system", content: "You are a careful coding agent. ".repeat(256) }];
  // Quotes and non-ASCII text, as source code and prose carry them.
  const turn = 'Here is the file: const greeting = "héllo, wörld"; // ✓ checked\n'.repeat(24);
  const body = { model, max_tokens: 16, tools, messages };
  let size = JSON.stringify(body).length;
  while (size < bytes) {
    const message = { role: messages.length % 2 === 1 ? "user" : "assistant", content: turn };
    messages.push(message);
    size += JSON.stringify(message).length + 1;
  }
  return JSON.stringify(body);
}
