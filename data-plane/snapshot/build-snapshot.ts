// Builds the data plane's whole in-memory policy snapshot from Postgres: a fixed number of queries in one
// consistent read, then pure in-memory work with maps (no per-key or per-principal queries).
import type { Db } from "../../control-plane/db/client.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";
import type { Snapshot } from "../contracts.ts";
import { buildKeyEntries } from "./key-entries.ts";
import { loadPolicyRows } from "./load-policy-rows.ts";
import { heldGrantsOf } from "./held-grants.ts";
import { buildPrincipalEntries } from "./principal-entries.ts";
import { buildCatalogue } from "./route-targets.ts";
import { createSnapshotIndex, indexBuilt, type SnapshotIndex } from "./snapshot-index.ts";
import { usableModelsCache } from "./usable-models.ts";

export interface BuildSnapshotOptions {
  /** Where to report rows left out (undecryptable credentials, a row shared/policy refuses). Defaults to stderr. */
  log?: (line: string) => void;
}

export async function buildSnapshot(prisma: Db, cipher: CredentialCipher, options: BuildSnapshotOptions = {}): Promise<Snapshot> {
  return (await buildSnapshotState(prisma, cipher, options)).snapshot;
}

/** The snapshot and the index that lets later changes be applied to it (snapshot-changes.ts) instead of rebuilt. */
export async function buildSnapshotState(prisma: Db, cipher: CredentialCipher, options: BuildSnapshotOptions = {}): Promise<{ snapshot: Snapshot; index: SnapshotIndex }> {
  const log = options.log ?? ((line: string) => console.error(line));
  const rows = await loadPolicyRows(prisma);
  const catalogue = buildCatalogue(rows, cipher, log);
  const index = createSnapshotIndex(catalogue, usableModelsCache(catalogue));
  const held = heldGrantsOf(rows, catalogue);
  const principals = buildPrincipalEntries(rows, catalogue, log, index.usable, held);
  const keysByHash = buildKeyEntries(rows, principals, log);
  indexBuilt(index, rows, principals, keysByHash, held);
  return { snapshot: { version: rows.version, builtAt: Date.now(), keysByHash, modelsBySlug: catalogue.modelsBySlug }, index };
}

/** What current() serves before the first build: no keys, so every request is refused rather than guessed at. */
export function emptySnapshot(): Snapshot {
  return { version: -1n, builtAt: 0, keysByHash: new Map(), modelsBySlug: new Map() };
}
