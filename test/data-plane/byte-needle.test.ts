import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteNeedle } from "../../data-plane/providers/byte-needle.ts";

describe("byte needle", () => {
  it("finds what Buffer.indexOf finds, from any offset", () => {
    // A small alphabet makes partial matches and overlaps common.
    const text = fc.string({ unit: fc.constantFrom("a", "b", '"', "u", "s", "g", "e", ":", "\n"), maxLength: 300 });
    fc.assert(
      fc.property(text, fc.string({ unit: fc.constantFrom("a", "b", '"', "u", "s", "g", "e"), minLength: 1, maxLength: 8 }), fc.nat(310), (hay, needle, from) => {
        const buf = Buffer.from(hay);
        expect(new ByteNeedle(needle).indexIn(buf, from)).toBe(buf.indexOf(Buffer.from(needle), from));
      }),
      { numRuns: 3000 },
    );
  });

  it("finds the usage key in a real chunk and nothing past the end", () => {
    const chunk = Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n');
    const needle = new ByteNeedle('"usage"');
    expect(needle.indexIn(chunk, 0)).toBe(chunk.indexOf('"usage"'));
    expect(needle.indexIn(chunk, chunk.indexOf('"usage"') + 1)).toBe(-1);
    expect(needle.indexIn(chunk.subarray(0, chunk.indexOf('"usage"') + 4), 0)).toBe(-1);
  });
});
