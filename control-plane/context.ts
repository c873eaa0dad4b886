// The per-request GraphQL context: services, and the authenticated caller (null when no key was presented).
import type { Config } from "../shared/config.ts";
import type { CredentialCipher } from "../shared/credential-cipher.ts";
import type { Caller } from "./auth/caller.ts";
import type { Db } from "./db/client.ts";
import type { ChangeBus } from "./events/pubsub.ts";

export type { Caller };

export interface Context {
  prisma: Db;
  bus: ChangeBus;
  cipher: CredentialCipher;
  config: Config;
  caller: Caller | null;
  sourceIp: string | null;
  /** Per-request memos for the groupMember and providerManager scopes. */
  callerGroups?: Promise<Set<string>>;
  managedProviders?: Promise<Set<string>>;
}
