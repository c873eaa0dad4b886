// The README's example GraphQL session, run as written: if this fails, the README is wrong.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

/** The operations of the README's "Example GraphQL session" block, in order. */
function readmeOperations(): string[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Example GraphQL session"));
  const block = /```graphql\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split(/\n\s*\n/).map((op) => op.trim()).filter(Boolean);
}

describe("README example session", () => {
  it("creates a group, adds a member, grants a model, sets a limit and a budget, and reads the effective policy", async () => {
    const ids: Record<string, string> = {};
    const results: any[] = [];
    for (const template of readmeOperations()) {
      const operation = template.replace(/"([A-Z]+)_ID"/g, (_m, key: string) => JSON.stringify(ids[key]));
      const data = await cp.ok(operation);
      results.push(data);
      const [field, value] = Object.entries(data)[0] as [string, any];
      expect(value?.code, `${field} failed: ${value?.message}`).toBeUndefined();
      if (field === "createUser") ids.ALICE = value.id;
      if (field === "createGroup") ids.GROUP = value.id;
      if (field === "createModel") ids.MODEL = value.id;
    }
    const policy = results.at(-1).effectivePolicy;
    expect(policy.models).toEqual([
      { slug: "chat-fast", reasons: [{ kind: "GRANT", via: { kind: "GROUP", name: "Engineering" } }] },
    ]);
    expect(policy.limits).toEqual([
      { dimension: "REQUESTS_PER_MINUTE", value: 60, source: { kind: "GROUP", name: "Engineering" } },
      { dimension: "REQUESTS_PER_SECOND", value: 5, source: { kind: "GROUP", name: "Engineering" } },
    ]);
    expect(policy.budgets).toEqual([{ period: "DAILY", cap: "20.00", source: { kind: "GROUP", name: "Engineering" } }]);
  });
});
