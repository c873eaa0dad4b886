// Write-only provider credentials: encrypted at rest; only the last 4 characters of a long enough secret show.
import type { CredentialCipher } from "../../shared/credential-cipher.ts";

// Showing 4 characters of a short secret would reveal most of it.
const MIN_LENGTH_TO_SHOW_LAST4 = 12;

export interface CredentialColumns {
  credentialsCiphertext: Uint8Array<ArrayBuffer> | null;
  credentialsLast4: string | null;
}

/** What the audit log records instead of the secret. */
export type CredentialsChange = "set" | "cleared" | "unchanged" | "none";

export function sealCredentials(cipher: CredentialCipher, secret: string): CredentialColumns {
  return {
    credentialsCiphertext: cipher.encrypt(secret),
    credentialsLast4: secret.length >= MIN_LENGTH_TO_SHOW_LAST4 ? secret.slice(-4) : null,
  };
}

/** Update semantics: undefined keeps the stored secret, null clears it, a string replaces it. */
export function credentialUpdate(
  cipher: CredentialCipher,
  secret: string | null | undefined,
): { columns: Partial<CredentialColumns>; change: CredentialsChange } {
  if (secret === undefined) return { columns: {}, change: "unchanged" };
  if (secret === null) return { columns: { credentialsCiphertext: null, credentialsLast4: null }, change: "cleared" };
  return { columns: sealCredentials(cipher, secret), change: "set" };
}
