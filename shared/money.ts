// Money as integer micro-dollars (bigint): exact parsing, formatting and cost math; never floats.
export const MICROS_PER_USD = 1_000_000n;

// Prices are quoted per million tokens, so token × price is in micro-dollars × 10⁻⁶.
const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/** Parses "20", "20.5" or "-0.000001" exactly; throws RangeError on anything else (including 7+ decimals). */
export function usdToMicros(usd: string): bigint {
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(usd.trim());
  if (!match) throw new RangeError(`"${usd}" is not a decimal amount with at most 6 decimal places`);
  const [, sign, whole, fraction = ""] = match;
  const micros = BigInt(whole!) * MICROS_PER_USD + BigInt(fraction.padEnd(6, "0"));
  return sign === "-" ? -micros : micros;
}

/** At least 2 decimals, trailing zeros beyond those trimmed: 1_500_000n → "1.50", 1_234_567n → "1.234567". */
export function microsToUsd(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const fraction = (abs % MICROS_PER_USD).toString().padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${negative ? "-" : ""}${abs / MICROS_PER_USD}.${fraction}`;
}

export type TokenUsage = { inputTokens: number; outputTokens: number; cachedInputTokens?: number };

/** Micro-dollars per million tokens. */
export type TokenPrices = { inputPerMTok: bigint; outputPerMTok: bigint; cachedInputPerMTok: bigint };

/**
 * The cost of one request in micro-dollars, rounded up so we never undercharge.
 * Cached input tokens are part of `inputTokens`, billed at the cached price instead of the input price.
 * Throws RangeError on counts that are negative, fractional, or have more cached than input tokens.
 */
export function costMicros(usage: TokenUsage, prices: TokenPrices): bigint {
  const input = tokenCount("inputTokens", usage.inputTokens);
  const output = tokenCount("outputTokens", usage.outputTokens);
  const cached = tokenCount("cachedInputTokens", usage.cachedInputTokens ?? 0);
  if (cached > input) {
    throw new RangeError(`cachedInputTokens (${cached}) cannot exceed inputTokens (${input}): cached tokens are a subset`);
  }
  // Field by field: this runs twice per gateway request, where Object.entries would allocate each time.
  if (prices.inputPerMTok < 0n || prices.outputPerMTok < 0n || prices.cachedInputPerMTok < 0n) {
    const [name, price] = Object.entries(prices).find(([, value]) => value < 0n)!;
    throw new RangeError(`${name} must not be negative, got ${price}`);
  }
  const scaled =
    (input - cached) * prices.inputPerMTok + cached * prices.cachedInputPerMTok + output * prices.outputPerMTok;
  // Ceiling division; scaled is non-negative here.
  return (scaled + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT;
}

function tokenCount(name: string, value: number): bigint {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return BigInt(value);
}
