// The policy version: bumped in the same transaction as every change data planes care about, so a data plane can
// tell from the number alone that it missed something (DESIGN "Policy propagation").
import type { Tx } from "../db/client.ts";

export async function bumpPolicyVersion(tx: Tx): Promise<bigint> {
  const [row] = await tx.$queryRaw<{ version: bigint }[]>`
    UPDATE "PolicyVersion" SET "version" = "version" + 1, "updatedAt" = now() WHERE "id" = 1 RETURNING "version"`;
  return row?.version ?? 0n;
}
