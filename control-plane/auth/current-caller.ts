// Long-lived subscriptions re-check their caller as they are now (key and user in one query): a revoked or expired
// key, a lost admin scope or a disabled user ends them, and a demotion narrows them, not just new requests.
import type { OrgRole } from "../db/generated/prisma/client.ts";
import type { Context } from "../context.ts";
import { ADMIN_SCOPE } from "./authenticate.ts";

export interface CurrentCaller {
  userId: string;
  role: OrgRole;
  isOrgAdmin: boolean;
}

/** The caller's present standing, or null when their key or account no longer admits them. */
export async function reloadCaller(ctx: Context, now = new Date()): Promise<CurrentCaller | null> {
  const caller = ctx.caller;
  if (!caller) return null;
  const key = await ctx.prisma.apiKey.findUnique({
    where: { id: caller.keyId },
    select: { revokedAt: true, expiresAt: true, scopes: true, user: { select: { id: true, role: true, status: true } } },
  });
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now) || !key.scopes.includes(ADMIN_SCOPE)) return null;
  if (!key.user || key.user.id !== caller.userId || key.user.status !== "ACTIVE") return null;
  return { userId: key.user.id, role: key.user.role, isOrgAdmin: key.user.role === "OWNER" || key.user.role === "ADMIN" };
}
