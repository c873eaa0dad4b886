// Rate limits, strictest wins (policy rule 4): per dimension the minimum over every source that sets one.
import { describeSubject } from "./subjects.ts";
import { LIMIT_DIMENSIONS, type EffectiveLimits, type LimitDimension, type LimitSource, type LimitValues } from "./types.ts";

/**
 * The binding value per dimension and the subject it comes from. On a tie the earlier source is kept,
 * so callers decide whose limit gets reported by the order they pass sources in.
 * Throws RangeError on a negative or fractional value: such a row is a bug upstream, not "no limit".
 */
export function effectiveLimits(sources: readonly LimitSource[]): EffectiveLimits {
  const result: EffectiveLimits = {};
  for (const source of sources) {
    for (const dimension of LIMIT_DIMENSIONS) {
      const value = source.limits[dimension];
      if (value === null || value === undefined) continue;
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(
          `${dimension} limit of ${describeSubject(source.subject)} must be a non-negative integer, got ${value}`,
        );
      }
      const current = result[dimension];
      if (current === undefined || value < current.value) result[dimension] = { value, source: source.subject };
    }
  }
  return result;
}

/** A stored limit row's values, every dimension (null = no cap there), ready to be a LimitSource's `limits`. */
export function limitValuesOf(row: { readonly [D in LimitDimension]: number | null }): LimitValues {
  const values: LimitValues = {};
  for (const dimension of LIMIT_DIMENSIONS) values[dimension] = row[dimension];
  return values;
}

/** The effective limits turned back into sources, so they can be tightened further by the same rule. */
export function limitSourcesOf(limits: EffectiveLimits): LimitSource[] {
  return LIMIT_DIMENSIONS.flatMap((dimension) => {
    const limit = limits[dimension];
    return limit ? [{ subject: limit.source, limits: { [dimension]: limit.value } }] : [];
  });
}
