// Finds the caller's key in the snapshot: the first check of every request, and the only one without a body.
import type { KeyEntry, Snapshot } from "../contracts.ts";
import { hashApiKey, isWellFormedApiKey } from "../../shared/api-key-format.ts";

const BEARER = /^bearer\s+/i;

/** The key from `Authorization: Bearer …` (OpenAI clients) or `x-api-key` (Anthropic clients); "" when neither. */
export function apiKeyFromHeaders(authorization: string, xApiKey: string): string {
  if (authorization !== "") {
    const match = BEARER.exec(authorization);
    if (match !== null) return authorization.slice(match[0].length).trim();
  }
  return xApiKey.trim();
}

/**
 * The key's entry when it is well-formed, known, unexpired and allowed to call the data plane; null otherwise.
 * A malformed key is refused before hashing, so junk costs a regex, not a SHA-256. Expiry is checked here on every
 * request because keys expire without any policy event.
 */
export function authenticate(snapshot: Snapshot, secret: string, now: number): KeyEntry | null {
  if (secret === "" || !isWellFormedApiKey(secret)) return null;
  const key = snapshot.keysByHash.get(hashApiKey(secret));
  if (key === undefined) return null;
  if (key.expiresAt !== null && key.expiresAt <= now) return null;
  if (!key.scopes.has("inference")) return null;
  return key;
}

/** Whether the key may use the slug: its owner may (principal.models) and the key does not narrow it away (rule 6). */
export function keyMayUse(key: KeyEntry, slug: string): boolean {
  return key.principal.models.has(slug) && (key.modelSlugs.size === 0 || key.modelSlugs.has(slug));
}
