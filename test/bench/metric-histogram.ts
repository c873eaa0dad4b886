// Reads a Prometheus histogram from a /metrics text: its cumulative buckets, and what fell in them between two readings.

/** The histogram's cumulative buckets as [upper bound in the metric's unit, count], +Inf last. */
export function histogramBuckets(metricsText: string, name: string): Array<[number, number]> {
  const line = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "gm");
  return [...metricsText.matchAll(line)].map((m): [number, number] => [m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
}

/** Cumulative counts observed between two readings of the same histogram. */
export function bucketsBetween(before: Array<[number, number]>, after: Array<[number, number]>): Array<[number, number]> {
  return after.map(([le, n], i): [number, number] => [le, n - (before[i]?.[1] ?? 0)]);
}
