// AES-256-GCM for provider credentials at rest: blob = 12-byte IV | 16-byte auth tag | ciphertext.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export interface CredentialCipher {
  encrypt(plaintext: string): Uint8Array<ArrayBuffer>;
  decrypt(blob: Uint8Array): string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function createCredentialCipher(key: Uint8Array): CredentialCipher {
  if (key.length !== 32) throw new RangeError("the credential key must be exactly 32 bytes");
  return {
    encrypt(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const out = new Uint8Array(IV_BYTES + TAG_BYTES + data.length);
      out.set(iv, 0);
      out.set(cipher.getAuthTag(), IV_BYTES);
      out.set(data, IV_BYTES + TAG_BYTES);
      return out;
    },
    decrypt(blob) {
      const buffer = Buffer.from(blob);
      const decipher = createDecipheriv("aes-256-gcm", key, buffer.subarray(0, IV_BYTES));
      decipher.setAuthTag(buffer.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(buffer.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    },
  };
}

/** Accepts 32 bytes as base64 or 64 hex characters. */
export function parseCredentialKey(text: string): Uint8Array {
  const trimmed = text.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (bytes.length !== 32) {
    throw new RangeError("TOLLGATE_SECRET_KEY must be 32 bytes, as base64 (openssl rand -base64 32) or 64 hex characters");
  }
  return bytes;
}
