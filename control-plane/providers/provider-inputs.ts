// Edge validation for provider input: base URL, write-only credentials, settings and prices.
import { z } from "zod";
import type { Prisma } from "../db/generated/prisma/client.ts";

export const baseUrl = z
  .string()
  .trim()
  .max(2000, "baseUrl must be at most 2000 characters")
  .pipe(z.url({ protocol: /^https?$/, error: "baseUrl must be an http(s) URL, e.g. https://api.openai.com/v1" }));

// Messages never echo the value: it is a secret.
export const credentialSecret = z
  .string()
  .trim()
  .min(1, "credentials must not be empty; pass null to clear them")
  .max(8192, "credentials must be at most 8192 characters");

// Settings land in the audit log in clear, so keys that name a secret are refused: those belong in `credentials`.
const SECRET_KEY = /^(api[-_]?key|key|secret|client[-_]?secret|password|credentials?|authorization|(access|bearer|auth)[-_]?token)$/i;

export const providerSettings = z
  .record(z.string(), z.json(), { error: "settings must be a JSON object" })
  .refine((s) => !Object.keys(s).some((k) => SECRET_KEY.test(k)), "settings must not hold secrets; put them in credentials")
  .refine((s) => JSON.stringify(s).length <= 10_000, "settings must be at most 10000 characters of JSON")
  .transform((s) => s as Prisma.InputJsonObject);

// $1,000,000 per million tokens: far above any real price, far below bigint column limits.
const MAX_PRICE_MICROS = 1_000_000_000_000n;

export const price = (what: string) =>
  z.bigint().min(0n, `${what} must not be negative`).max(MAX_PRICE_MICROS, `${what} must be at most 1000000 USD`);
