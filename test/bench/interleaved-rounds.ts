// Runs every arm of a workload in rounds, side by side: the arms' order rotates each round, so none always runs
// first or after the same neighbour.

/** Each arm's results in round order; `runArm` is called once per arm and round. */
export async function interleavedRounds<A extends string, R>(arms: readonly A[], rounds: number, runArm: (arm: A, round: number) => Promise<R>): Promise<Record<A, R[]>> {
  const results = Object.fromEntries(arms.map((arm) => [arm, [] as R[]])) as Record<A, R[]>;
  for (let round = 0; round < rounds; round++) {
    const order = [...arms];
    for (let i = 0; i < round % arms.length; i++) order.push(order.shift()!);
    for (const arm of order) results[arm].push(await runArm(arm, round));
  }
  return results;
}
