import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { costMicros, MICROS_PER_USD, microsToUsd, usdToMicros } from "../../shared/money.ts";

describe("usdToMicros", () => {
  it.each([
    ["20", 20_000_000n],
    ["20.00", 20_000_000n],
    ["0.000001", 1n],
    ["1.5", 1_500_000n],
    ["-3.25", -3_250_000n],
    [" 7 ", 7_000_000n],
  ])("parses %j exactly", (text, micros) => {
    expect(usdToMicros(text)).toBe(micros);
  });

  it.each(["", "1.", ".5", "1.0000001", "1e3", "$5", "1,000", "+1", "abc", "NaN"])("rejects %j with a RangeError", (text) => {
    expect(() => usdToMicros(text)).toThrow(RangeError);
    expect(() => usdToMicros(text)).toThrow(/at most 6 decimal places/);
  });

  it("parses amounts far beyond float precision exactly", () => {
    expect(usdToMicros("90071992547409.931234")).toBe(90_071_992_547_409_931_234n);
  });
});

describe("microsToUsd", () => {
  it.each([
    [20_000_000n, "20.00"],
    [1_500_000n, "1.50"],
    [1_234_567n, "1.234567"],
    [1_230_000n, "1.23"],
    [1_230_400n, "1.2304"],
    [1n, "0.000001"],
    [0n, "0.00"],
    [-1_500_000n, "-1.50"],
  ])("formats %s as %j", (micros, text) => {
    expect(microsToUsd(micros)).toBe(text);
  });

  it("round-trips through usdToMicros for any amount", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (micros) => {
        expect(usdToMicros(microsToUsd(micros))).toBe(micros);
      }),
    );
  });

  it("formats any parsed decimal back to the same amount, with at least 2 decimals", () => {
    fc.assert(
      fc.property(fc.nat(), fc.stringMatching(/^\d{0,6}$/), (whole, fraction) => {
        const text = fraction ? `${whole}.${fraction}` : `${whole}`;
        const formatted = microsToUsd(usdToMicros(text));
        expect(formatted).toMatch(/^\d+\.\d{2,6}$/);
        expect(usdToMicros(formatted)).toBe(usdToMicros(text));
      }),
    );
  });
});

const prices = { inputPerMTok: 3_000_000n, outputPerMTok: 15_000_000n, cachedInputPerMTok: 300_000n };

describe("costMicros", () => {
  it("prices input, cached input and output tokens per million", () => {
    // 1M input of which 200k cached: 800k × $3 + 200k × $0.30 + 100k × $15 per M = $2.40 + $0.06 + $1.50.
    const cost = costMicros({ inputTokens: 1_000_000, cachedInputTokens: 200_000, outputTokens: 100_000 }, prices);
    expect(microsToUsd(cost)).toBe("3.96");
  });

  it("rounds a fraction of a micro-dollar up", () => {
    // One input token at $3/M costs 3 micro-dollars; one at $0.30/M costs 0.3, billed as 1.
    expect(costMicros({ inputTokens: 1, outputTokens: 0 }, prices)).toBe(3n);
    expect(costMicros({ inputTokens: 1, cachedInputTokens: 1, outputTokens: 0 }, prices)).toBe(1n);
  });

  it("costs nothing for no tokens", () => {
    expect(costMicros({ inputTokens: 0, outputTokens: 0 }, prices)).toBe(0n);
  });

  it("rejects more cached tokens than input tokens, and bad counts or prices", () => {
    expect(() => costMicros({ inputTokens: 1, cachedInputTokens: 2, outputTokens: 0 }, prices)).toThrow(/subset/);
    expect(() => costMicros({ inputTokens: -1, outputTokens: 0 }, prices)).toThrow(RangeError);
    expect(() => costMicros({ inputTokens: 1.5, outputTokens: 0 }, prices)).toThrow(RangeError);
    expect(() => costMicros({ inputTokens: 1, outputTokens: 0 }, { ...prices, outputPerMTok: -1n })).toThrow("outputPerMTok must not be negative, got -1");
    expect(() => costMicros({ inputTokens: 1, outputTokens: 0 }, { ...prices, inputPerMTok: -2n })).toThrow("inputPerMTok must not be negative, got -2");
    expect(() => costMicros({ inputTokens: 1, outputTokens: 0 }, { ...prices, cachedInputPerMTok: -3n })).toThrow("cachedInputPerMTok must not be negative, got -3");
  });

  it("is never below the exact cost and less than one micro-dollar above it", () => {
    const tokens = fc.nat({ max: 10_000_000 });
    const price = fc.bigInt({ min: 0n, max: 200n * MICROS_PER_USD });
    fc.assert(
      fc.property(tokens, tokens, tokens, price, price, price, (a, b, output, inputPrice, cachedPrice, outputPrice) => {
        const [input, cached] = a >= b ? [a, b] : [b, a];
        const p = { inputPerMTok: inputPrice, cachedInputPerMTok: cachedPrice, outputPerMTok: outputPrice };
        const cost = costMicros({ inputTokens: input, cachedInputTokens: cached, outputTokens: output }, p);
        // The exact cost is exactScaled / 10⁶ micro-dollars.
        const exactScaled =
          BigInt(input - cached) * inputPrice + BigInt(cached) * cachedPrice + BigInt(output) * outputPrice;
        expect(cost * 1_000_000n >= exactScaled).toBe(true);
        expect(cost * 1_000_000n < exactScaled + 1_000_000n).toBe(true);
      }),
    );
  });
});
