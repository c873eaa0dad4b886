// The mock's pacing between chunks, read from the upstream model name it answers as (`…-delay-20-…`): stall thresholds
// are pacing + a margin, and every arm must be judged by the same one whatever name it sends (a gateway slug has none).
export function mockPacingMs(upstreamModel: string): number {
  return Number(/(?:^|-)delay-(\d+)/.exec(upstreamModel)?.[1] ?? 0);
}
