// Who may do what with keys, declared on the fields (scope-auth): org admins any key; a user their own keys only.
import { isOrgAdmin } from "../auth/caller.ts";
import type { Context } from "../context.ts";
import { isUuid } from "../validation.ts";

interface KeyOwnerArgs {
  userId?: string | number | null;
  virtualAccountId?: string | number | null;
}

/** Creating or listing keys: for oneself (or no owner given: oneself); another user's or a virtual account's need orgAdmin. */
export function keyOwnerScopes(owner: KeyOwnerArgs) {
  if (owner.virtualAccountId) return { orgAdmin: true };
  if (owner.userId) return { orgAdmin: true, self: String(owner.userId) };
  return { authenticated: true };
}

/**
 * Changing an existing key: org admins any key, a user only their own. Anything else is FORBIDDEN whether the key
 * exists or not, so a member cannot probe for other people's key ids.
 */
export async function manageKeyScopes(ctx: Context, id: unknown): Promise<{ orgAdmin: true } | { self: string } | false> {
  if (isOrgAdmin(ctx.caller)) return { orgAdmin: true };
  if (!isUuid(id)) return false;
  const key = await ctx.prisma.apiKey.findUnique({ where: { id }, select: { userId: true } });
  return key?.userId ? { self: key.userId } : false;
}
