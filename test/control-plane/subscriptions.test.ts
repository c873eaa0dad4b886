import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

const CHANGES = `subscription ($kinds: [ChangeKind!]) { changes(kinds: $kinds) { kind action targetType targetId version } }`;
const CREATE_GROUP = `mutation ($name: String!) { createGroup(input: { name: $name }) { ... on Group { id } } }`;

describe.each([
  { bus: "in-process", redis: false },
  { bus: "Redis", redis: true },
])("subscriptions over the $bus change bus", ({ redis }) => {
  let cp: TestControlPlane;
  beforeAll(async () => {
    cp = await startTestControlPlane({ redis });
  });
  afterAll(async () => {
    await cp?.close();
  });

  it("a WebSocket (graphql-ws) subscriber sees a group created by a mutation", async () => {
    const client = createClient({
      url: cp.url.replace("http", "ws"),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${cp.ownerKey}` },
    });
    const events: any[] = [];
    const subscribed = new Promise<void>((resolve) => client.on("connected", () => resolve()));
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: CHANGES, variables: { kinds: ["GROUP"] } },
        {
          next: (message) => {
            events.push(message.data?.changes);
            resolve();
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    await subscribed;
    // The subscription is registered on the server just after `connected`; give the bus a moment.
    await new Promise((r) => setTimeout(r, 200));
    const { createGroup } = await cp.ok(CREATE_GROUP, { name: `ws-${Date.now()}` });
    await done;
    await client.dispose();
    expect(events[0]).toMatchObject({ kind: "GROUP", action: "group.create", targetType: "Group", targetId: createGroup.id });
    expect(BigInt(events[0].version)).toBeGreaterThan(0n);
  });

  it("an SSE subscriber sees a change and versions increase by one per change", async () => {
    const abort = new AbortController();
    const response = await fetch(cp.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${cp.ownerKey}` },
      body: JSON.stringify({ query: CHANGES, variables: { kinds: ["GROUP"] } }),
      signal: abort.signal,
    });
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    await new Promise((r) => setTimeout(r, 200));
    await cp.ok(CREATE_GROUP, { name: `sse-a-${Date.now()}` });
    await cp.ok(CREATE_GROUP, { name: `sse-b-${Date.now()}` });
    const received: any[] = [];
    let buffer = "";
    while (received.length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += new TextDecoder().decode(value);
      for (const block of buffer.split("\n\n").slice(0, -1)) {
        const data = block.split("\n").find((l) => l.startsWith("data:"));
        if (data) received.push(JSON.parse(data.slice(5)).data.changes);
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 2);
    }
    abort.abort();
    expect(received.map((e) => e.action)).toEqual(["group.create", "group.create"]);
    expect(BigInt(received[1].version) - BigInt(received[0].version)).toBe(1n);
  });
});
