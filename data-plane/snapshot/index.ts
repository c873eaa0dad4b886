// The data plane's in-memory policy snapshot: how it is built from Postgres and kept current from the change bus.
export { buildSnapshot, emptySnapshot, type BuildSnapshotOptions } from "./build-snapshot.ts";
export { startSnapshotSync, type SnapshotSync, type SnapshotSyncOptions } from "./snapshot-sync.ts";
