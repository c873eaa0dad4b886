// Guards on the OWNER role: only an owner may touch owners, and the last active OWNER cannot be demoted or disabled.
import { forbidden } from "../auth/authenticate.ts";
import type { Caller } from "../auth/caller.ts";
import type { Tx } from "../db/client.ts";
import type { OrgRole, UserStatus } from "../db/generated/prisma/client.ts";
import { ValidationError } from "../errors.ts";

interface RoleAndStatus {
  role: OrgRole;
  status: UserStatus;
}

/** Throws when `user` is an active owner, `next` would no longer be one, and no other active owner exists. */
export async function refuseToRemoveLastOwner(tx: Tx, user: RoleAndStatus & { id: string }, next: RoleAndStatus): Promise<void> {
  const isOwner = (u: RoleAndStatus) => u.role === "OWNER" && u.status === "ACTIVE";
  if (!isOwner(user) || isOwner(next)) return;
  // Locking the active owners makes two concurrent demotions wait for each other, so they cannot both pass.
  const owners = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id"::text FROM "User" WHERE "role" = 'OWNER' AND "status" = 'ACTIVE' FOR UPDATE`;
  if (owners.some((o) => o.id !== user.id)) return;
  const path = next.status !== "ACTIVE" ? "status" : "role";
  throw new ValidationError([
    { path, message: "this is the last active owner; make another user an active OWNER first" },
  ]);
}

/**
 * Admins manage everyone else, but only an OWNER may give or take the OWNER role or change a user who is an OWNER.
 * Checked inside the transaction against the row it changes, so a concurrent promotion cannot slip past it.
 */
export function refuseOwnerChangeByNonOwner(caller: Caller | null, current: OrgRole | null, next: OrgRole | null | undefined): void {
  if (caller?.role === "OWNER") return;
  if (current === "OWNER" || next === "OWNER") throw forbidden("only an OWNER may change an OWNER or give the OWNER role");
}
