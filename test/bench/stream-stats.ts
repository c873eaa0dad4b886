// Merges the SSE client's rounds of one arm (stream-load.ts) into percentiles, stall and completion counts, and tells
// whether two arms received the same bytes.
import type { StreamLoadResult } from "./stream-load.ts";

export interface StreamArmStats {
  streams: number;
  completed: number;
  errors: number;
  firstError: string | null;
  ttftP50Us: number;
  ttftP99Us: number;
  gapP50Us: number;
  gapP99Us: number;
  maxGapUs: number;
  gaps: number;
  stalls: number;
  stallThresholdMs: number;
  /** Body digest → streams that received exactly those bytes. */
  digests: Record<string, number>;
  sampleBody: string | null;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function sortedOf(rounds: StreamLoadResult[], pick: (r: StreamLoadResult) => number[]): Float64Array {
  const all = new Float64Array(rounds.reduce((n, r) => n + pick(r).length, 0));
  let at = 0;
  for (const r of rounds) for (const v of pick(r)) all[at++] = v;
  return all.sort();
}

export function mergeStreamRounds(rounds: StreamLoadResult[]): StreamArmStats {
  const ttft = sortedOf(rounds, (r) => r.ttftUs);
  const gaps = sortedOf(rounds, (r) => r.gapUs);
  const digests: Record<string, number> = {};
  for (const r of rounds) for (const [d, n] of Object.entries(r.digests)) digests[d] = (digests[d] ?? 0) + n;
  return {
    streams: rounds.reduce((n, r) => n + r.streams, 0),
    completed: rounds.reduce((n, r) => n + r.completed, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    firstError: rounds.find((r) => r.firstError !== null)?.firstError ?? null,
    ttftP50Us: percentile(ttft, 0.5),
    ttftP99Us: percentile(ttft, 0.99),
    gapP50Us: percentile(gaps, 0.5),
    gapP99Us: percentile(gaps, 0.99),
    maxGapUs: Math.max(0, ...rounds.map((r) => r.maxGapUs)),
    gaps: rounds.reduce((n, r) => n + r.gapCount, 0),
    stalls: rounds.reduce((n, r) => n + r.stalls, 0),
    stallThresholdMs: rounds[0]?.stallThresholdMs ?? Number.NaN,
    digests,
    sampleBody: rounds.find((r) => r.sampleBody !== null)?.sampleBody ?? null,
  };
}

export interface ByteComparison {
  same: boolean;
  /** Why not, in a few words (what differs first, and whether it is only the `"usage":null` members). */
  note: string;
}

/** Whether every stream of `arm` received exactly the bytes every stream of `reference` did. */
export function compareBytes(arm: StreamArmStats, reference: StreamArmStats): ByteComparison {
  const ref = Object.keys(reference.digests);
  const got = Object.keys(arm.digests);
  if (ref.length !== 1) return { same: false, note: `the reference itself got ${ref.length} different bodies` };
  if (got.length === 1 && got[0] === ref[0]) return { same: true, note: "" };
  const a = arm.sampleBody ?? "";
  const b = reference.sampleBody ?? "";
  const variants = got.length > 1 ? `${got.length} different bodies; ` : "";
  if (a === b) return { same: false, note: `${variants}the first stream matched` };
  const strip = (s: string) => s.replaceAll(',"usage":null', "");
  if (strip(a) === strip(b)) {
    const extra = (a.match(/,"usage":null/g)?.length ?? 0) - (b.match(/,"usage":null/g)?.length ?? 0);
    return { same: false, note: `${variants}differs only by ${extra} extra \`"usage":null\` members` };
  }
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 30), i + 50));
  return { same: false, note: `${variants}first difference at byte ${i}: ${around(a)} vs ${around(b)}` };
}
