// Applies a contiguous batch of change events to the snapshot without a full rebuild: the principals the batch
// touches are re-read (load-changed-rows.ts), rebuilt with the same entry builders as the full build, and swapped
// into the snapshot's key map in one synchronous step, so a request sees either all of the batch or none of it.
import type { Db } from "../../control-plane/db/client.ts";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { Snapshot } from "../contracts.ts";
import { changeTargets } from "./change-targets.ts";
import { buildKeyEntries } from "./key-entries.ts";
import { loadChangedRows } from "./load-changed-rows.ts";
import { heldGrantsOf } from "./held-grants.ts";
import { buildPrincipalEntries } from "./principal-entries.ts";
import { forgetPrincipal, indexBuilt, type SnapshotIndex } from "./snapshot-index.ts";

/**
 * The snapshot at the batch's last version (its key map patched in place with new entries; an existing entry only ever has its models or bucket replaced, by early-changes.ts), or
 * null when only a full rebuild is right: a catalogue change, an event it cannot trace, or a database behind the events
 * (they describe another database, or it was restored).
 */
export async function applyChanges(
  prisma: Db,
  snapshot: Snapshot,
  index: SnapshotIndex,
  events: readonly ChangeEvent[],
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<Snapshot | null> {
  const targets = changeTargets(events);
  if (!targets) return null;
  const changed = await loadChangedRows(prisma, targets, index);
  const version = BigInt(events.at(-1)!.version);
  if (!changed || changed.version < version) return null;
  // Given up on (too slow): the caller has moved on, and patching now would change a snapshot it no longer describes.
  if (signal?.aborted) return null;

  const keysByHash = snapshot.keysByHash;
  for (const owner of changed.owners) forgetPrincipal(index, keysByHash, owner);
  const held = heldGrantsOf(changed.rows, index.catalogue);
  const principals = buildPrincipalEntries(changed.rows, index.catalogue, log, index.usable, held);
  const keys = buildKeyEntries(changed.rows, principals, log);
  for (const [hash, key] of keys) keysByHash.set(hash, key);
  indexBuilt(index, changed.rows, principals, keys, held);
  return { version, builtAt: Date.now(), keysByHash, modelsBySlug: snapshot.modelsBySlug };
}
