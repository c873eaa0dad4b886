// Invite tokens: 32 random bytes sent to the invitee once; only their SHA-256 is stored, like API keys.
import { createHash, randomBytes } from "node:crypto";
import type { Config } from "../../shared/config.ts";

export function mintInviteToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashInviteToken(token) };
}

export function hashInviteToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function inviteAcceptUrl(config: Pick<Config, "publicUrl">, token: string): string {
  return `${config.publicUrl}/invites/accept?token=${encodeURIComponent(token)}`;
}
