// A data plane shutting down (SIGTERM) while streams are still open: after its grace it cuts them, and every one of
// them is settled and recorded before the process may exit, charged for what was relayed. Nothing is lost to the
// order of the shutdown steps (the usage writer closes right after the connections).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mockChunksIn } from "../support/mock-provider.ts";
import { createMockModel, startTestStack, type TestStack, waitForPolicy } from "../support/stack.ts";
import { type Member, member } from "./policy.ts";
import { watchUnhandled } from "./probes.ts";

const STREAMS = 8;
/** 10 s streams: far past the stack's 1 s shutdown grace. */
const UPSTREAM = "mock-chunks-200-delay-50";

let stack: TestStack;
let caller: Member;
let slug: string;
const unhandled = watchUnhandled();

beforeAll(async () => {
  stack = await startTestStack({ instances: 1 });
  const model = await createMockModel(stack, UPSTREAM);
  slug = model.slug;
  caller = await member(stack, model.modelId);
  await waitForPolicy(stack);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  unhandled.stop();
});

/** Opens a stream, reads until two content chunks have arrived, then keeps reading in the background until it ends. */
async function openStream(i: number): Promise<{ requestId: string; received: () => number; ended: Promise<void> }> {
  const response = await fetch(`${stack.gateways[0]}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${caller.secret}`, "content-type": "application/json" },
    body: JSON.stringify({ model: slug, stream: true, messages: [{ role: "user", content: `shutdown ${i}` }] }),
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const received = () => mockChunksIn(text);
  const readOne = async () => {
    const { value, done } = await reader.read();
    if (!done) text += decoder.decode(value, { stream: true });
    return done;
  };
  while (received() < 2) expect(await readOne()).toBe(false);
  const ended = (async () => {
    try {
      while (!(await readOne()));
    } catch {
      // The gateway cutting the connection is what this test does.
    }
  })();
  return { requestId: response.headers.get("x-request-id")!, received, ended };
}

describe("shutting down with streams open", () => {
  it(`cuts ${STREAMS} open streams after the grace and has recorded each of them by the time close() resolves`, async () => {
    const streams = await Promise.all(Array.from({ length: STREAMS }, (_, i) => openStream(i)));
    await stack.closeInstance(0);

    // No waiting: close() resolving is the promise that every record is written.
    const records = await stack.cp.prisma.usageRecord.findMany({ where: { modelSlug: slug } });
    expect(records.map((r) => r.requestId).sort()).toEqual(streams.map((s) => s.requestId).sort());
    await Promise.all(streams.map((s) => s.ended));
    for (const stream of streams) {
      const record = records.find((r) => r.requestId === stream.requestId)!;
      expect(record.status).toBe(499);
      expect(record.inputTokens).toBeGreaterThan(0);
      // Charged at least what the client read, and not the whole 200-chunk stream it never got.
      expect(record.outputTokens).toBeGreaterThanOrEqual(stream.received());
      expect(record.outputTokens).toBeLessThan(200);
    }
    expect(stack.dataPlaneLogs[0]!.lines.filter((line) => line.includes("lost") || line.includes("dropped"))).toEqual([]);
  });
});
