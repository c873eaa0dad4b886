import { afterEach, describe, expect, it, vi } from "vitest";
import { afterResponses, afterResponsesRun } from "../../data-plane/server/after-responses.ts";

afterEach(() => vi.restoreAllMocks());

describe("after-response work", () => {
  it("runs once the current turn is over, in the order it was queued, and afterResponsesRun waits for it", async () => {
    const ran: string[] = [];
    afterResponses({ afterResponse: () => ran.push("first") });
    afterResponses({ afterResponse: () => ran.push("second") });
    ran.push("sync");
    await Promise.resolve();
    ran.push("microtask");
    await afterResponsesRun();
    expect(ran).toEqual(["sync", "microtask", "first", "second"]);
  });

  it("queues work added while the queue runs for the next turn, and still runs it", async () => {
    const ran: string[] = [];
    afterResponses({ afterResponse: () => afterResponses({ afterResponse: () => ran.push("later") }) });
    await afterResponsesRun();
    expect(ran).toEqual([]);
    await afterResponsesRun();
    expect(ran).toEqual(["later"]);
  });

  it("runs the rest when one throws, and reports it", async () => {
    const reported = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const ran: string[] = [];
    afterResponses({
      afterResponse: () => {
        throw new Error("broken bookkeeping");
      },
    });
    afterResponses({ afterResponse: () => ran.push("after the failure") });
    await afterResponsesRun();
    expect(ran).toEqual(["after the failure"]);
    expect(String(reported.mock.calls[0])).toContain("broken bookkeeping");
  });
});
