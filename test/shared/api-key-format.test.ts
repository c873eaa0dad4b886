import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashApiKey, isWellFormedApiKey, mintApiKey } from "../../shared/api-key-format.ts";

describe("API key format", () => {
  it("a user's key starts with tg_pat_ and a virtual account's with tg_va_", () => {
    expect(mintApiKey("user").secret).toMatch(/^tg_pat_[0-9A-Za-z]{49}$/);
    expect(mintApiKey("virtualAccount").secret).toMatch(/^tg_va_[0-9A-Za-z]{49}$/);
  });

  it("the visible prefix is the type and 8 characters, and the hash is SHA-256 of the secret", () => {
    const key = mintApiKey("user");
    expect(key.prefix).toBe(key.secret.slice(0, 15));
    expect(key.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(key.hash).toBe(hashApiKey(key.secret));
    expect(key.hash).not.toContain(key.secret.slice(7));
    // The FIPS 180-2 test vector: stored hashes must stay comparable whichever Node API computes them.
    expect(hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("carries all 256 random bits: different randomness gives different keys", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
        const ka = mintApiKey("user", () => a).secret;
        const kb = mintApiKey("user", () => b).secret;
        expect(ka === kb).toBe(Buffer.from(a).equals(Buffer.from(b)));
      }),
    );
  });

  it("every minted key is well formed; changing any one character breaks the checksum", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), (bytes, at) => {
        const { secret } = mintApiKey("virtualAccount", () => bytes);
        expect(isWellFormedApiKey(secret)).toBe(true);
        const i = 6 + (at % (secret.length - 6));
        const swapped = secret[i] === "a" ? "b" : "a";
        expect(isWellFormedApiKey(secret.slice(0, i) + swapped + secret.slice(i + 1))).toBe(false);
      }),
    );
  });

  it("keeps the format of keys already issued: the same randomness gives the same key as ever", () => {
    // Written down from the first implementation; a change of digits or checksum would lock out every issued key.
    const from = (byte: (i: number) => number) => () => Uint8Array.from({ length: 32 }, (_, i) => byte(i));
    expect(mintApiKey("user", from(() => 0)).secret).toBe("tg_pat_00000000000000000000000000000000000000000001RH3hs");
    expect(mintApiKey("virtualAccount", from(() => 255)).secret).toBe("tg_va_yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp12GZMFm");
    expect(mintApiKey("user", from((i) => i * 7 + 3)).secret).toBe("tg_pat_0igR56x10M1njKSmuE0QDp48jU696MyIa0rYV2ctRU412s981");
  });

  it("refuses text that is not a Tollgate key", () => {
    for (const text of ["", "sk-abc", "tg_pat_", `tg_xx_${"a".repeat(49)}`, `${mintApiKey("user").secret}x`]) {
      expect(isWellFormedApiKey(text)).toBe(false);
    }
  });
});
