// A long-lived audit subscription re-checks its caller on every event: a revoked key, an expired key, a disabled
// user or a demotion ends it, not just new requests.
import { ADMIN_SCOPE } from "../auth/authenticate.ts";
import type { Context } from "../context.ts";

export async function stillOrgAdmin(ctx: Context, now = new Date()): Promise<boolean> {
  const caller = ctx.caller;
  if (!caller) return false;
  const key = await ctx.prisma.apiKey.findUnique({
    where: { id: caller.keyId },
    select: { revokedAt: true, expiresAt: true, scopes: true, user: { select: { id: true, role: true, status: true } } },
  });
  return (
    key !== null &&
    key.revokedAt === null &&
    (key.expiresAt === null || key.expiresAt > now) &&
    key.scopes.includes(ADMIN_SCOPE) &&
    key.user?.id === caller.userId &&
    key.user.status === "ACTIVE" &&
    (key.user.role === "OWNER" || key.user.role === "ADMIN")
  );
}
