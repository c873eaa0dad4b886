// Turns the key on a control-plane request into a Caller, or refuses it: unknown, revoked, expired or
// disabled-owner keys are 401, keys without the `admin` scope 403. No key at all leaves the caller empty.
import { GraphQLError } from "graphql";
import { hashApiKey, isWellFormedApiKey } from "../../shared/api-key-format.ts";
import type { Db } from "../db/client.ts";
import type { OrgRole, UserStatus } from "../db/generated/prisma/client.ts";
import type { Caller } from "./caller.ts";

export const ADMIN_SCOPE = "admin";
/** Last-used and last-login stamps are refreshed at most this often, so reads do not turn into writes. */
const TOUCH_INTERVAL_MS = 60_000;

export function presentedKey(headers: { get(name: string): string | null }, connectionParams?: Record<string, unknown>): string | null {
  const fromParams = connectionParams?.authorization ?? connectionParams?.Authorization ?? connectionParams?.apiKey;
  const authorization = typeof fromParams === "string" ? fromParams : headers.get("authorization");
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1]! : authorization.trim();
  }
  const apiKey = headers.get("x-api-key");
  return apiKey ? apiKey.trim() : null;
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
}

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN", http: { status: 403 } } });
}

export async function authenticate(prisma: Db, secret: string | null, now = new Date()): Promise<Caller | null> {
  if (secret === null) return null;
  // One message for every refusal, so a caller cannot probe which keys exist. Made only on refusal: an error records
  // its stack, which cost 1 % of the control plane's CPU when every request made one.
  const refused = () => unauthenticated("invalid, revoked or expired API key");
  if (!isWellFormedApiKey(secret)) throw refused();
  // Every request runs this, so it reads on the pool (db/pool-rows.ts): a quarter of the CPU of Prisma's nested select.
  const [key] = await prisma.$rows<KeyRow>(KEY_BY_HASH, [hashApiKey(secret)]);
  if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= now)) throw refused();
  if (key.userId === null || key.status !== "ACTIVE") throw refused();
  if (!key.scopes.includes(ADMIN_SCOPE)) throw forbidden(`this key lacks the "${ADMIN_SCOPE}" scope needed for the control plane`);
  touch(prisma, key.id, key.userId, key.lastUsedAt, key.lastLoginAt, now);
  return { userId: key.userId, email: key.email!, role: key.role!, keyId: key.id, label: key.email! };
}

/** The key and its user (null for a virtual account's key, which cannot use the control plane). */
interface KeyRow {
  id: string;
  scopes: string[];
  revokedAt: Date | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  userId: string | null;
  email: string | null;
  role: OrgRole | null;
  status: UserStatus | null;
  lastLoginAt: Date | null;
}

const KEY_BY_HASH = `
  SELECT k."id", k."scopes", k."revokedAt", k."expiresAt", k."lastUsedAt",
         u."id" AS "userId", u."email", u."role"::text AS "role", u."status"::text AS "status", u."lastLoginAt"
    FROM "ApiKey" k LEFT JOIN "User" u ON u."id" = k."userId"
    WHERE k."hash" = $1`;

function touch(prisma: Db, keyId: string, userId: string, keyUsed: Date | null, userLogin: Date | null, now: Date): void {
  const stale = (at: Date | null) => !at || now.getTime() - at.getTime() > TOUCH_INTERVAL_MS;
  // Best effort: a failed stamp must never fail the request.
  if (stale(keyUsed)) void prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: now } }).catch(() => undefined);
  if (stale(userLogin)) {
    void prisma.user.update({ where: { id: userId }, data: { lastLoginAt: now, lastSeenAt: now } }).catch(() => undefined);
  }
}
