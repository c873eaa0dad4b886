// What a usage record stores: every record must fit its columns, since one Postgres refuses is dropped.
import { describe, expect, it } from "vitest";
import { storableCount, storableName, usageRecord } from "../../data-plane/server/finish-call.ts";
import { keyFor, principal } from "./gateway-fixtures.ts";

const key = keyFor(principal({})).entry;
const fields = { requestId: "r", providerModelId: null, costMicros: 9_000_000_000_000n, status: 200, latencyMs: 1.4, ttfbMs: null, createdAt: new Date() };

describe("usage record", () => {
  it("keeps a model name the client sent as it is when a text column can hold it", () => {
    for (const name of ["chat-fast", "", "模型", "emoji 🙂 pair", "x".repeat(200)]) expect(storableName(name)).toBe(name);
  });

  it("replaces NUL and lone surrogates, and cuts a name past 200 characters", () => {
    expect(storableName("a\u0000b\u0000")).toBe("a\ufffdb\ufffd");
    expect(storableName("\ud800x\udc00")).toBe("\ufffdx\ufffd");
    // A cut through a surrogate pair leaves half of it, which is replaced too.
    const cut = storableName(`${"x".repeat(199)}🙂`);
    expect(cut).toBe(`${"x".repeat(199)}\ufffd…`);
    expect(Buffer.from(cut, "utf8").toString("utf8")).toBe(cut);
  });

  it("caps token counts at the 32-bit columns' maximum and keeps the cost as computed", () => {
    expect(storableCount(2_147_483_647)).toBe(2_147_483_647);
    expect(storableCount(9_000_000_000)).toBe(2_147_483_647);
    const record = usageRecord(key, { ...fields, modelSlug: "m\u0000", usage: { inputTokens: 3_000_000_000, outputTokens: 12, cachedTokens: 2 ** 40 } });
    expect(record).toMatchObject({ modelSlug: "m\ufffd", inputTokens: 2_147_483_647, outputTokens: 12, cachedTokens: 2_147_483_647, costMicros: 9_000_000_000_000n, latencyMs: 1 });
  });
});
