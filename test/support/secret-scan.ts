// Finds plaintext secrets in text: Tollgate API keys (recognised by their format) and the provider credentials tests use.
//
// Keys need no registry: `tg_pat_`/`tg_va_` + 49 base62 characters is the whole secret (stored forms are a SHA-256 hash
// and a 15-character prefix, which never match). Credentials have no format, so the scan looks for the ones it knows:
// those the test control plane encrypted (its cipher reports every plaintext, see recordingCipher), the fixed strings
// tests hand to the mock provider, and anything made by testCredential(), which carries a marker.
import { randomBytes } from "node:crypto";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";

/** A key's full shape; a checksum mismatch still counts, since a mistyped key is nearly the real one. */
export const API_KEY_SHAPE = /tg_(?:pat|va)_[0-9A-Za-z]{49}/g;

/** Every credential made by testCredential() contains this. */
export const CREDENTIAL_MARK = "tgcred-";

/** Provider credentials used as literals by tests that do not go through the test control plane's cipher. */
export const KNOWN_TEST_CREDENTIALS: readonly string[] = [
  "sk-upstream",
  "sk-provider-secret",
  "sk-openai",
  "sk-bench",
  "sk-live-abcdefghijklmnop1234WXYZ",
  "first-secret-value-0001",
  "second-secret-value-0002",
  "doomed-secret-123456",
];

/** Shorter plaintexts are not searched for: they would match ordinary words (and such secrets show no last 4 either). */
const MIN_NEEDLE_LENGTH = 8;

const needles = new Set<string>(KNOWN_TEST_CREDENTIALS);

/** A provider credential the scan will recognise wherever it ends up. */
export function testCredential(label = "provider"): string {
  return `sk-${CREDENTIAL_MARK}${label}-${randomBytes(8).toString("hex")}`;
}

/** Adds a plaintext credential to what the scan looks for (this test process only). */
export function rememberCredential(plaintext: string): void {
  if (plaintext.trim().length >= MIN_NEEDLE_LENGTH) needles.add(plaintext);
}

/** The credentials searched for, the marker included: what the database scan hands to SQL. */
export function credentialNeedles(): string[] {
  return [...needles, CREDENTIAL_MARK];
}

/** A cipher that remembers every plaintext it encrypts, so nothing set through the API escapes the scan. */
export function recordingCipher(cipher: CredentialCipher): CredentialCipher {
  return {
    encrypt(plaintext) {
      rememberCredential(plaintext);
      return cipher.encrypt(plaintext);
    },
    decrypt: (blob) => cipher.decrypt(blob),
  };
}

export interface Leak {
  /** Where it was found: "database tollgate_test_x table ApiKey", "data-plane log", … */
  where: string;
  kind: "api key" | "provider credential";
  /** The surrounding text with every secret in it cut short, so the failure message does not repeat them. */
  excerpt: string;
}

/** The text with every secret in it cut to its first few characters. */
export function redactSecrets(text: string): string {
  let out = text.replace(API_KEY_SHAPE, (key) => `${key.slice(0, 10)}…`);
  for (const needle of credentialNeedles()) out = out.replaceAll(needle, `${needle.slice(0, Math.min(6, needle.length >> 1))}…`);
  return out;
}

function excerpt(text: string, at: number, length: number): string {
  return redactSecrets(text.slice(Math.max(0, at - 60), Math.min(text.length, at + length + 60))).replace(/\s+/g, " ");
}

/** Every plaintext key or known credential in `text`, each place once (a marked credential also contains the mark). */
export function findSecrets(text: string, where: string): Leak[] {
  const found: { at: number; length: number; kind: Leak["kind"] }[] = [];
  for (const match of text.matchAll(API_KEY_SHAPE)) found.push({ at: match.index, length: match[0].length, kind: "api key" });
  for (const needle of credentialNeedles()) {
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
      found.push({ at, length: needle.length, kind: "provider credential" });
    }
  }
  found.sort((a, b) => a.at - b.at || b.length - a.length);
  const leaks: Leak[] = [];
  let coveredUntil = -1;
  for (const f of found) {
    if (f.at + f.length <= coveredUntil) continue;
    coveredUntil = f.at + f.length;
    leaks.push({ where, kind: f.kind, excerpt: excerpt(text, f.at, f.length) });
  }
  return leaks;
}

export class SecretLeakError extends Error {
  constructor(readonly leaks: Leak[]) {
    super(
      `Plaintext secrets found (only key hashes and prefixes, and encrypted credentials, may be stored or logged):\n${leaks
        .slice(0, 20)
        .map((l) => `  ${l.kind} in ${l.where}: ${l.excerpt}`)
        .join("\n")}${leaks.length > 20 ? `\n  … and ${leaks.length - 20} more` : ""}`,
    );
    this.name = "SecretLeakError";
  }
}

export function assertNoLeaks(leaks: Leak[]): void {
  if (leaks.length > 0) throw new SecretLeakError(leaks);
}

/** A `log` function for a plane under test that keeps every line, to be scanned when the plane stops. */
export interface LogCapture {
  lines: string[];
  log: (line: string) => void;
  /** The leaks in everything logged so far. */
  leaks(): Leak[];
}

export function captureLog(where: string, echo = process.env.TOLLGATE_TEST_LOGS === "1"): LogCapture {
  const lines: string[] = [];
  return {
    lines,
    log: (line) => {
      lines.push(line);
      if (echo) console.error(`[${where}] ${line}`);
    },
    leaks: () => lines.flatMap((line) => findSecrets(line, where)),
  };
}
