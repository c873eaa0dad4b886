// Gateway.close() with a request still waiting for its admission decision (Redis slow, say): the shutdown's grace
// covers it as it covers a stream, so it is served and recorded rather than cut. (Streams cut at the end of the grace
// are test/faults/shutdown.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMemoryAdmission } from "../../data-plane/admission/memory-admission.ts";
import type { Admission } from "../../data-plane/contracts.ts";
import { startMockProvider, type MockProvider } from "../support/mock-provider.ts";
import { keyFor, principal, routeTo, snapshotOf, startTestGateway, type TestGateway, type TestKey } from "./gateway-fixtures.ts";

let mock: MockProvider;
let gw: TestGateway;
let key: TestKey;
// The admission below holds every decision until release(); asked resolves when the first one is asked for.
let release!: () => void;
const released = new Promise<void>((resolve) => (release = resolve));
let ask!: () => void;
const asked = new Promise<void>((resolve) => (ask = resolve));

beforeAll(async () => {
  mock = await startMockProvider();
  const routes = { plain: [routeTo(mock.url, { upstreamModel: "gpt-mock" })] };
  key = keyFor(principal(routes));
  const inner = createMemoryAdmission();
  const held: Admission = {
    async admit(buckets, estimate, now) {
      ask();
      await released;
      return inner.admit(buckets, estimate, now);
    },
    settle: (ticket, actual) => inner.settle(ticket, actual),
    close: () => inner.close(),
  };
  gw = await startTestGateway(snapshotOf([key], ["plain"]), { admission: held });
});

afterAll(async () => {
  await mock.close();
});

describe("closing the gateway", () => {
  it("lets a request waiting for admission finish within the grace, and has recorded it when close() resolves", async () => {
    const response = fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "plain", messages: [{ role: "user", content: "Still there?" }] }),
    });
    await asked;
    const closed = gw.close(5_000);
    setTimeout(release, 200);
    await closed;

    expect(gw.usage.map((record) => record.status)).toEqual([200]);
    expect(gw.admission.settled).toHaveLength(1);
    const answer = await response;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ object: "chat.completion" });
  });
});
