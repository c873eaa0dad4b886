// The per-request GraphQL context; `caller` is the seam where authentication will put the principal.
import type { CredentialCipher } from "../shared/credential-cipher.ts";
import type { Db } from "./db/client.ts";
import type { ChangeBus } from "./events/pubsub.ts";

export interface Caller {
  userId: string;
  label: string;
}

export interface Context {
  prisma: Db;
  bus: ChangeBus;
  cipher: CredentialCipher;
  caller: Caller | null;
  sourceIp: string | null;
}
