// First start on an empty database: create the owner and mint their first key, shown once. Also the recovery path
// (`npm run tollgate -- create-admin-key`): a new owner key from the server's own configuration.
import { bumpPolicyVersion } from "../changes/policy-version.ts";
import type { Db } from "../db/client.ts";
import { issueApiKey } from "../keys/issue-api-key.ts";

/** Serialises bootstraps of several replicas starting at once. */
const BOOTSTRAP_LOCK = 7_346_001;

export interface OwnerKey {
  email: string;
  secret: string;
  created: boolean;
}

/** Creates the owner and a key when there are no users yet; otherwise does nothing and returns null. */
export async function bootstrapOwner(prisma: Db, email: string): Promise<OwnerKey | null> {
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK})`;
    if ((await tx.user.count()) > 0) return null;
    const owner = await tx.user.create({ data: { email, name: "Owner", role: "OWNER", status: "ACTIVE" } });
    const { key, secret } = await issueApiKey(tx, { owner: { userId: owner.id }, name: "bootstrap", scopes: ["admin", "inference"] });
    await bumpPolicyVersion(tx);
    await tx.auditEvent.create({
      data: { action: "user.bootstrap", targetType: "User", targetId: owner.id, after: { email, role: "OWNER", keyPrefix: key.prefix } },
    });
    return { email, secret, created: true };
  });
}

/** Mints a new owner key for the first active owner, creating the owner when there is none. */
export async function createOwnerKey(prisma: Db, email: string): Promise<OwnerKey> {
  const bootstrapped = await bootstrapOwner(prisma, email);
  if (bootstrapped) return bootstrapped;
  return prisma.$transaction(async (tx) => {
    const owner =
      (await tx.user.findFirst({ where: { role: "OWNER", status: "ACTIVE" }, orderBy: { createdAt: "asc" } })) ??
      (await tx.user.upsert({
        where: { email },
        create: { email, name: "Owner", role: "OWNER", status: "ACTIVE" },
        update: { role: "OWNER", status: "ACTIVE" },
      }));
    const { key, secret } = await issueApiKey(tx, { owner: { userId: owner.id }, name: "recovery", scopes: ["admin", "inference"] });
    await bumpPolicyVersion(tx);
    await tx.auditEvent.create({
      data: { action: "apiKey.recover", targetType: "ApiKey", targetId: key.id, after: { owner: owner.email, prefix: key.prefix } },
    });
    return { email: owner.email, secret, created: false };
  });
}

export function announceOwnerKey(owner: OwnerKey, print: (line: string) => void): void {
  const rule = "=".repeat(72);
  print(rule);
  print(owner.created ? `Created the owner ${owner.email}. Their API key (shown once, keep it safe):` : `New owner key for ${owner.email} (shown once):`);
  print(`  ${owner.secret}`);
  print("Use it as `Authorization: Bearer <key>` (GraphiQL: the Headers tab).");
  print(rule);
}
