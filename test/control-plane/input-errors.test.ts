// Client-input mistakes the GraphQL fuzz found answered without a code or as a masked "Unexpected error.": each now
// gets BAD_USER_INPUT (control-plane/hardening/input-errors.ts) and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestControlPlane, type TestControlPlane } from "../support/control-plane.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp?.close();
});

const codes = (result: { errors?: { extensions?: Record<string, unknown> }[] }) => result.errors?.map((e) => e.extensions?.code);

describe("input errors", () => {
  it("refuses text with a NUL character, inline or in a variable, with BAD_USER_INPUT (400) and creates nothing", async () => {
    const before = await cp.prisma.group.count();
    const inline = await cp.gql(`mutation { createGroup(input: { name: "a\\u0000b" }) { ... on Group { id } } }`);
    const variable = await cp.gql(`mutation ($name: String!) { createGroup(input: { name: $name }) { ... on Group { id } } }`, { name: "a\u0000b" });
    const search = await cp.gql(`query ($s: String) { groups(search: $s) { totalCount } }`, { s: "\u0000" });
    for (const result of [inline, variable, search]) {
      expect(result.status).toBe(400);
      expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    }
    expect(await cp.prisma.group.count()).toBe(before);
  });

  it("gives variables of the wrong type and bad connection arguments the code BAD_USER_INPUT", async () => {
    const wrongVariable = await cp.gql(`query ($id: ID!) { user(id: $id) { id } }`, { id: true });
    expect(wrongVariable.status).toBe(400);
    expect(codes(wrongVariable)).toEqual(["BAD_USER_INPUT"]);
    for (const args of [`first: -1`, `after: "not a cursor"`, `after: "a", before: "b"`]) {
      const result = await cp.gql(`{ groups(${args}) { totalCount } }`);
      expect(codes(result), args).toEqual(["BAD_USER_INPUT"]);
    }
  });
});
