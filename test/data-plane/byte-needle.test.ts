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

  it("finds the OpenAI content marker (a needle whose rarest byte is common) like Buffer.indexOf, across a real stream", () => {
    const event = (text: string) => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"${text}"},"logprobs":null}]}\n\n`;
    const stream = Buffer.from(["", "tok ", 'she said \\"content\\":\\"x', "o"].map(event).join(""));
    const needle = new ByteNeedle('content":"');
    const found: number[] = [];
    for (let at = needle.indexIn(stream, 0); at !== -1; at = needle.indexIn(stream, at + 1)) found.push(at);
    const expected: number[] = [];
    for (let at = stream.indexOf('content":"'); at !== -1; at = stream.indexOf('content":"', at + 1)) expected.push(at);
    expect(found).toEqual(expected);
    expect(found).toHaveLength(4);
  });

  it("finds the usage key in a real chunk and nothing past the end", () => {
    const chunk = Buffer.from('data: {"choices":[],"usage":{"prompt_tokens":3}}\n\n');
    const needle = new ByteNeedle('"usage"');
    expect(needle.indexIn(chunk, 0)).toBe(chunk.indexOf('"usage"'));
    expect(needle.indexIn(chunk, chunk.indexOf('"usage"') + 1)).toBe(-1);
    expect(needle.indexIn(chunk.subarray(0, chunk.indexOf('"usage"') + 4), 0)).toBe(-1);
  });
});
