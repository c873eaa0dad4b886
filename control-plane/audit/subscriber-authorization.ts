// A long-lived audit subscription re-checks its caller on every event: a revoked key, an expired key, a disabled
// user or a demotion ends it, not just new requests.
import { reloadCaller } from "../auth/current-caller.ts";
import type { Context } from "../context.ts";

export async function stillOrgAdmin(ctx: Context, now = new Date()): Promise<boolean> {
  return (await reloadCaller(ctx, now))?.isOrgAdmin === true;
}
