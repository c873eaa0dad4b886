// Keeps the snapshot current (DESIGN "Policy propagation"). Change events whose versions follow the snapshot's are
// applied to it incrementally (snapshot-changes.ts: only the principals they touch are re-read); a gap in versions
// that does not fill within GAP_WAIT_MS, a catalogue change, a reconnect or a periodic version check that finds the
// database elsewhere triggers a full rebuild, so no update is lost. One piece of work runs at a time; events arriving
// meanwhile are batched; a failed build or batch keeps the old snapshot serving and the next check retries. Changes
// that only narrow what is allowed (revoked keys, disabled principals, lowered caps, withdrawn grants and access) are
// also taken from their events the moment they arrive, before any read (early-changes.ts).
import type { Db } from "../../control-plane/db/client.ts";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { ChangeBus } from "../../control-plane/events/pubsub.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";
import type { Snapshot } from "../contracts.ts";
import { buildSnapshotState, emptySnapshot } from "./build-snapshot.ts";
import { EarlyChanges } from "./early-changes.ts";
import { LOAD_TIMEOUT_MS } from "./load-policy-rows.ts";
import { applyChanges } from "./snapshot-changes.ts";
import type { SnapshotIndex } from "./snapshot-index.ts";

export interface SnapshotSyncOptions {
  prisma: Db;
  cipher: CredentialCipher;
  bus: ChangeBus;
  /** How often to compare the stored policy version with the snapshot's (one tiny query). */
  reconcileMs: number;
  /**
   * A build not done by then counts as failed, so a database that hangs instead of refusing (a black-holed
   * network) cannot block every later build. Default: a little over the load transaction's own timeout.
   */
  buildTimeoutMs?: number;
  /**
   * Called after each swap, a full rebuild or applied changes (metrics, logs), with the change events it applied (none
   * for a full rebuild); an exception here is logged, never fatal.
   */
  onSwap?: (snapshot: Snapshot, update: "full" | "changes", events: readonly ChangeEvent[]) => void;
  log?: (line: string) => void;
}

export interface SnapshotSync {
  /** The snapshot to serve now; before the first build an empty one (version -1) that refuses every key. */
  current(): Snapshot;
  /** Resolves after the first successful build; rejects only if stopped before that. */
  ready: Promise<void>;
  /** Rebuilds in full now (after the work in progress, if any); rejects if that build fails, the old snapshot staying. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** How long a missing version may take to arrive (events published out of order) before a full resync. */
export const GAP_WAIT_MS = 200;
/** Events applied in one incremental step at most (bounds the id lists of its queries). */
const MAX_BATCH = 500;

const ignore = () => undefined;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function startSnapshotSync(options: SnapshotSyncOptions): SnapshotSync {
  const { prisma, cipher, bus, reconcileMs, onSwap, buildTimeoutMs = LOAD_TIMEOUT_MS + 30_000 } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  let snapshot = emptySnapshot();
  let index: SnapshotIndex | null = null;
  let stopped = false;
  // The last build or batch failed: nothing is applied on top until a full rebuild succeeds.
  let failed = false;
  // One log line per outage, not one per failed attempt.
  let inOutage = false;
  const pending = new Map<bigint, ChangeEvent>();
  let gapSince: number | null = null;
  let gapTimer: NodeJS.Timeout | undefined;
  let fullWanted = true;
  let fullWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  let building = false;
  let working: Promise<void> | null = null;
  let kickQueued = false;
  const early = new EarlyChanges();

  let markReady: () => void = ignore;
  let failReady: (error: Error) => void = ignore;
  let isReady = false;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = () => {
      isReady = true;
      resolve();
    };
    failReady = reject;
  });
  ready.catch(ignore);

  const outage = (what: string, error: unknown) => {
    if (inOutage) return;
    inOutage = true;
    log(`[tollgate] policy snapshot: ${what} failed (${messageOf(error)}); still serving policy version ${snapshot.version}, retrying on the next change or check`);
  };
  const recovered = () => {
    if (!inOutage) return;
    inOutage = false;
    log(`[tollgate] policy snapshot: the database answers again; serving policy version ${snapshot.version}`);
  };

  function swap(next: Snapshot, update: "full" | "changes", events: readonly ChangeEvent[] = []) {
    for (const version of pending.keys()) if (version <= next.version) pending.delete(version);
    if (index) early.reapply(next, index);
    // Requests read current() per request, so replacing the reference is the whole (atomic) swap.
    snapshot = next;
    failed = false;
    recovered();
    if (!isReady) markReady();
    try {
      onSwap?.(next, update, events);
    } catch (error) {
      log(`[tollgate] policy snapshot: onSwap failed: ${messageOf(error)}`);
    }
  }

  async function fullBuild(): Promise<void> {
    building = true;
    // Events received before the build started were committed before it read: whatever version they name, the build
    // covers them (a version beyond what it read can only be another database's, and must not stay pending forever).
    const covered = [...pending.keys()];
    try {
      const built = await withDeadline(() => buildSnapshotState(prisma, cipher, { log }), buildTimeoutMs);
      if (stopped) return;
      index = built.index;
      for (const version of covered) pending.delete(version);
      swap(built.snapshot, "full");
    } catch (error) {
      failed = true;
      // The next successful build reads everything these events announced.
      pending.clear();
      outage("rebuild", error);
      throw error;
    } finally {
      building = false;
    }
  }

  async function applyBatch(batch: ChangeEvent[]): Promise<void> {
    try {
      const next = await withDeadline((signal) => applyChanges(prisma, snapshot, index!, batch, log, signal), buildTimeoutMs);
      if (stopped) return;
      if (next) swap(next, "changes", batch);
      else {
        // The full rebuild that follows covers these events.
        for (const event of batch) pending.delete(BigInt(event.version));
        fullWanted = true;
      }
    } catch (error) {
      // The snapshot was not touched (the patch is synchronous, after every read): a full rebuild starts over.
      failed = true;
      pending.clear();
      outage("change", error);
    }
  }

  /** The next step, or null when there is nothing to do now (a gap still inside its grace period counts as nothing). */
  function nextBatch(): ChangeEvent[] | "full" | null {
    if (fullWanted) return "full";
    if (pending.size === 0) return null;
    if (!index || failed) return "full";
    const expected = snapshot.version + 1n;
    if (!pending.has(expected)) {
      const now = Date.now();
      if (gapSince === null) {
        gapSince = now;
        gapTimer = setTimeout(kick, GAP_WAIT_MS + 5);
      }
      if (now - gapSince < GAP_WAIT_MS) return null;
      const first = [...pending.keys()].reduce((a, b) => (a < b ? a : b));
      log(`[tollgate] policy snapshot: change events ${expected}..${first - 1n} never arrived; full resync`);
      return "full";
    }
    const batch: ChangeEvent[] = [];
    for (let v = expected; pending.has(v) && batch.length < MAX_BATCH; v++) batch.push(pending.get(v)!);
    return batch;
  }

  async function work(): Promise<void> {
    while (!stopped) {
      const step = nextBatch();
      if (step === null) return;
      gapSince = null;
      clearTimeout(gapTimer);
      if (step === "full") {
        fullWanted = false;
        const waiters = fullWaiters;
        fullWaiters = [];
        try {
          await fullBuild();
          for (const w of waiters) w.resolve();
        } catch (error) {
          for (const w of waiters) w.reject(error);
        }
      } else {
        await applyBatch(step);
      }
    }
  }

  /** Starts the work loop unless it runs; coalesces calls made in one turn of the event loop (a burst of events). */
  function kick() {
    if (stopped || working || kickQueued) return;
    kickQueued = true;
    setImmediate(() => {
      kickQueued = false;
      if (stopped || working) return;
      working = work().finally(() => {
        working = null;
        // Anything that arrived while the last step was finishing.
        if (fullWanted || (pending.size > 0 && gapSince === null)) kick();
      });
    });
  }

  function requestFull(): Promise<void> {
    if (stopped) return Promise.resolve();
    fullWanted = true;
    const done = new Promise<void>((resolve, reject) => fullWaiters.push({ resolve, reject }));
    kick();
    return done;
  }

  function onChange(event: ChangeEvent) {
    let version: bigint;
    try {
      version = BigInt(event.version);
    } catch {
      requestFull().catch(ignore);
      return;
    }
    if (version <= snapshot.version) return;
    pending.set(version, event);
    // Ahead of the re-read below, which may wait behind other events or on the database.
    early.arrived(event, version, snapshot, index);
    kick();
  }

  let reconciling = false;
  async function reconcile() {
    if (stopped || building || reconciling) return;
    reconciling = true;
    try {
      const row = await prisma.policyVersion.findUnique({ where: { id: 1 }, select: { version: true } });
      const stored = row?.version ?? 0n;
      if (failed) await requestFull();
      else if (stored < snapshot.version) await requestFull();
      else if (stored > snapshot.version) {
        // Events for those versions may still be on their way, or queued behind others being applied: rebuild everything
        // only once nothing is left to apply and the snapshot is still behind (the last events were lost), or after
        // another whole period of trying.
        const giveUpAt = Date.now() + reconcileMs;
        for (;;) {
          await sleep(Math.min(reconcileMs, 500));
          if (stopped || building || snapshot.version >= stored) return;
          if ((pending.size === 0 && !working) || Date.now() > giveUpAt) break;
        }
        log(`[tollgate] policy snapshot: the stored policy version is ${stored}, the snapshot's ${snapshot.version}; full resync`);
        await requestFull();
      } else recovered();
    } catch (error) {
      outage("version check", error);
    } finally {
      reconciling = false;
    }
  }

  let iterator: AsyncIterator<ChangeEvent> | null = null;
  let wake: () => void = ignore;
  let pause: NodeJS.Timeout | undefined;
  async function followChanges() {
    while (!stopped) {
      try {
        iterator = bus.subscribe()[Symbol.asyncIterator]();
        for (;;) {
          const result = await iterator.next();
          if (result.done || stopped) break;
          onChange(result.value);
        }
      } catch (error) {
        log(`[tollgate] policy snapshot: change subscription failed (${messageOf(error)}); resubscribing`);
      }
      if (stopped) return;
      // The subscription ended or broke, so events may be lost: wait a little, resubscribe, and check the version
      // (rebuilding only if it moved, so a bus that keeps ending cannot turn into a rebuild loop).
      await new Promise<void>((resolve) => {
        wake = resolve;
        pause = setTimeout(resolve, Math.min(reconcileMs, 1000));
      });
      if (!stopped) void reconcile();
    }
  }

  // Subscribe before the first build, so a change committed after the build's read is announced to us.
  const following = followChanges();
  kick();
  const timer = setInterval(() => void reconcile(), reconcileMs);
  // The server keeps the process alive; this timer alone should not.
  timer.unref();

  return {
    current: () => snapshot,
    ready,
    refresh: requestFull,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(pause);
      clearTimeout(gapTimer);
      wake();
      if (!isReady) failReady(new Error("the snapshot sync was stopped before the first snapshot was built"));
      for (const w of fullWaiters.splice(0)) w.resolve();
      await iterator?.return?.().catch(ignore);
      await following;
      await working?.catch(ignore);
    },
  };
}

/**
 * The work's result if it settles within `ms`; otherwise a rejection, the signal is aborted (so late work changes
 * nothing) and whatever the work yields later is dropped.
 */
function withDeadline<T>(start: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`the snapshot build took longer than ${ms} ms`));
    }, ms);
  });
  const work = start(controller.signal);
  work.catch(ignore);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
