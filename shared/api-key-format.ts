// API key format: `tg_pat_…` (a user's) or `tg_va_…` (a virtual account's), 256 random bits in base62 and a
// CRC32 check so a mistyped key is refused without a lookup. Only the SHA-256 hash of a key is ever stored.
import * as crypto from "node:crypto";
import { crc32 } from "node:zlib";

export type ApiKeyOwnerKind = "user" | "virtualAccount";

const TYPE_PREFIX: Record<ApiKeyOwnerKind, string> = { user: "tg_pat_", virtualAccount: "tg_va_" };
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 256 bits need 43 base62 digits (62^43 > 2^256). */
const BODY_LENGTH = 43;
const CHECK_LENGTH = 6;
/** Characters of the body shown in lists: enough to tell keys apart, far too few to guess the rest. */
const VISIBLE_BODY = 8;

const KEY_PATTERN = new RegExp(`^(tg_pat_|tg_va_)([0-9A-Za-z]{${BODY_LENGTH}})([0-9A-Za-z]{${CHECK_LENGTH}})$`);

export interface MintedKey {
  secret: string;
  prefix: string;
  hash: string;
}

export function mintApiKey(owner: ApiKeyOwnerKind, random: (n: number) => Uint8Array = crypto.randomBytes): MintedKey {
  const body = toBase62(random(32), BODY_LENGTH);
  const typePrefix = TYPE_PREFIX[owner];
  const secret = `${typePrefix}${body}${checksum(typePrefix + body)}`;
  return { secret, prefix: secret.slice(0, typePrefix.length + VISIBLE_BODY), hash: hashApiKey(secret) };
}

/** True when the text has the shape and checksum of a Tollgate key (it may still be unknown or revoked). */
export function isWellFormedApiKey(text: string): boolean {
  const match = KEY_PATTERN.exec(text);
  return match !== null && checksum(match[1]! + match[2]!) === match[3];
}

/**
 * Every request hashes its key: the one-shot crypto.hash (Node ≥ 20.12) takes ~0.6 µs where a Hash object takes
 * ~2.5 µs; createHash stays for the older Node 20 releases the engines field allows.
 */
export const hashApiKey: (secret: string) => string =
  typeof crypto.hash === "function"
    ? (secret) => crypto.hash("sha256", secret, "hex")
    : (secret) => crypto.createHash("sha256").update(secret).digest("hex");

/**
 * Runs on every request: a CRC32 fits a double exactly, so plain division replaces toBase62's BigInt loop, which
 * cost ~2.5 % of the data plane's CPU at load (profile on issue 5). Same digits as toBase62 of the four bytes.
 */
function checksum(text: string): string {
  let value = crc32(text) >>> 0;
  let out = "";
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = ALPHABET[value % 62]! + out;
    value = Math.floor(value / 62);
  }
  return out;
}

function toBase62(bytes: Uint8Array, length: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value % 62n)]! + out;
    value /= 62n;
  }
  return out;
}
