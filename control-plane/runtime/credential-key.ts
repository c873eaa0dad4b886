// Finds the key that encrypts provider credentials: TOLLGATE_SECRET_KEY, or in embedded mode a key generated
// once and kept in $TOLLGATE_HOME/secret.key (mode 600).
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "../../shared/config.ts";
import { parseCredentialKey } from "../../shared/credential-cipher.ts";

export function loadCredentialKey(config: Config): Uint8Array {
  if (config.TOLLGATE_SECRET_KEY) return parseCredentialKey(config.TOLLGATE_SECRET_KEY);
  if (!config.embedded) {
    throw new ConfigError([
      "TOLLGATE_SECRET_KEY: required when DATABASE_URL is set; generate one with `openssl rand -base64 32` and keep it safe",
    ]);
  }
  const file = join(config.TOLLGATE_HOME, "secret.key");
  if (!existsSync(file)) {
    mkdirSync(config.TOLLGATE_HOME, { recursive: true });
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  }
  chmodSync(file, 0o600);
  return parseCredentialKey(readFileSync(file, "utf8"));
}
