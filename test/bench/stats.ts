// Merges the load generator's rounds of one arm and computes its percentiles and throughput.
import type { LoadResult } from "./load.ts";

export interface ArmStats {
  requests: number;
  errors: number;
  firstError: string | null;
  p50Us: number;
  p99Us: number;
  rps: number;
  /** Open loop: the worst round's p99 of how late the generator sent a request (µs). */
  sendLagP99Us?: number;
  /** Mean busy percent of each core over the rounds' measured windows (empty where /proc/stat was unreadable). */
  coreBusy: number[];
  /** CPU microseconds per answered request of each process group the load generator watched, over the measured windows. */
  cpuUsPerRequest: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export function mergeRounds(rounds: LoadResult[]): ArmStats {
  const samples = rounds.flatMap((r) => r.samplesUs).sort((a, b) => a - b);
  return {
    requests: samples.length,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    firstError: rounds.find((r) => r.firstError !== null)?.firstError ?? null,
    p50Us: percentile(samples, 0.5),
    p99Us: percentile(samples, 0.99),
    rps: requestsPerSecond(rounds),
    coreBusy: meanCoreBusy(rounds),
    cpuUsPerRequest: cpuPerRequest(rounds, samples.length),
    ...(rounds.some((r) => r.sendLagP99Us !== undefined) ? { sendLagP99Us: Math.max(...rounds.map((r) => r.sendLagP99Us ?? 0)) } : {}),
  };
}

/** Answered requests over the rounds' measured windows; one round's own rate when given one. */
export function requestsPerSecond(rounds: LoadResult[]): number {
  const windowMs = rounds.reduce((sum, r) => sum + r.windowMs, 0);
  return windowMs > 0 ? rounds.reduce((sum, r) => sum + r.samplesUs.length, 0) / (windowMs / 1000) : 0;
}

function cpuPerRequest(rounds: LoadResult[], requests: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rounds) for (const [name, seconds] of Object.entries(r.cpuSeconds)) out[name] = (out[name] ?? 0) + seconds;
  for (const name of Object.keys(out)) out[name] = requests > 0 ? (out[name]! * 1e6) / requests : Number.NaN;
  return out;
}

function meanCoreBusy(rounds: LoadResult[]): number[] {
  const read = rounds.filter((r) => r.cores.length > 0);
  if (read.length === 0) return [];
  return read[0]!.cores.map((_, core) => read.reduce((sum, r) => sum + (r.cores[core]?.busy ?? 0), 0) / read.length);
}

/** p50/p95/p99/max of unsorted samples (any unit). */
export function summarize(samples: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
}
