// Who is calling the control plane: a user authenticated by an API key with the `admin` scope.
import type { OrgRole } from "../db/generated/prisma/client.ts";

export interface Caller {
  userId: string;
  email: string;
  role: OrgRole;
  keyId: string;
  /** How the caller appears in the audit log. */
  label: string;
}

export const isOrgAdmin = (caller: Caller | null): boolean => caller?.role === "OWNER" || caller?.role === "ADMIN";
