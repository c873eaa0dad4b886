// Keeps the snapshot current (DESIGN "Policy propagation"): a full rebuild whenever the change bus announces a newer
// policy version, plus a periodic version check that catches missed events, gaps and reconnects. Builds are
// single-flight (one running, at most one queued, bursts coalesce); a failed build keeps the old snapshot serving.
import type { Db } from "../../control-plane/db/client.ts";
import type { ChangeEvent } from "../../control-plane/events/change-event.ts";
import type { ChangeBus } from "../../control-plane/events/pubsub.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";
import type { Snapshot } from "../contracts.ts";
import { buildSnapshot, emptySnapshot } from "./build-snapshot.ts";
import { LOAD_TIMEOUT_MS } from "./load-policy-rows.ts";

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
  /** Called after each swap (metrics, logs); an exception here is logged, never fatal. */
  onSwap?: (snapshot: Snapshot) => void;
  log?: (line: string) => void;
}

export interface SnapshotSync {
  /** The snapshot to serve now; before the first build an empty one (version -1) that refuses every key. */
  current(): Snapshot;
  /** Resolves after the first successful build; rejects only if stopped before that. */
  ready: Promise<void>;
  /** Rebuilds now (after the build in progress, if any); rejects if that build fails, the old snapshot staying. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const ignore = () => undefined;
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function startSnapshotSync(options: SnapshotSyncOptions): SnapshotSync {
  const { prisma, cipher, bus, reconcileMs, onSwap, buildTimeoutMs = LOAD_TIMEOUT_MS + 30_000 } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  let snapshot = emptySnapshot();
  let stopped = false;
  let lastBuildFailed = false;
  // One log line per outage, not one per failed attempt.
  let inOutage = false;
  // The highest version any change event announced: a queued rebuild is skipped when a build already reached it.
  let announced = -1n;
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  let queuedForced = false;

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

  async function build(): Promise<void> {
    let next: Snapshot;
    try {
      next = await withDeadline(buildSnapshot(prisma, cipher, { log }), buildTimeoutMs);
    } catch (error) {
      lastBuildFailed = true;
      outage("rebuild", error);
      throw error;
    }
    if (stopped) return;
    // Requests read current() per request, so replacing the reference is the whole (atomic) swap.
    snapshot = next;
    lastBuildFailed = false;
    recovered();
    if (!isReady) markReady();
    try {
      onSwap?.(next);
    } catch (error) {
      log(`[tollgate] policy snapshot: onSwap failed: ${messageOf(error)}`);
    }
  }

  /** `force`: build even if the snapshot already has every announced version (refresh, reconcile, reconnect). */
  function schedule(force: boolean): Promise<void> {
    if (stopped) return Promise.resolve();
    if (!running) {
      running = build().finally(() => {
        running = null;
      });
      return running;
    }
    queuedForced ||= force;
    queued ??= running.then(ignore, ignore).then(() => {
      queued = null;
      const forced = queuedForced;
      queuedForced = false;
      // A burst of events during one build needs no second build if the first one already saw them all.
      if (!forced && !lastBuildFailed && snapshot.version >= announced) return;
      return schedule(true);
    });
    return queued;
  }

  function onChange(event: ChangeEvent) {
    let version: bigint;
    try {
      version = BigInt(event.version);
    } catch {
      schedule(true).catch(ignore);
      return;
    }
    if (version > announced) announced = version;
    if (version > snapshot.version) schedule(false).catch(ignore);
  }

  let reconciling = false;
  async function reconcile() {
    if (stopped || running || reconciling) return;
    reconciling = true;
    try {
      const row = await prisma.policyVersion.findUnique({ where: { id: 1 }, select: { version: true } });
      // "Differs", not "is newer": a restored database may go back, and the snapshot must follow it.
      if ((row?.version ?? 0n) !== snapshot.version || lastBuildFailed) await schedule(true);
      else recovered();
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
  schedule(true).catch(ignore);
  const timer = setInterval(() => void reconcile(), reconcileMs);
  // The server keeps the process alive; this timer alone should not.
  timer.unref();

  return {
    current: () => snapshot,
    ready,
    refresh: () => schedule(true),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(pause);
      wake();
      if (!isReady) failReady(new Error("the snapshot sync was stopped before the first snapshot was built"));
      await iterator?.return?.().catch(ignore);
      await following;
      await Promise.allSettled([running, queued]);
    },
  };
}

/** The work's result if it settles within `ms`; otherwise a rejection, and whatever the work yields later is dropped. */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the snapshot build took longer than ${ms} ms`)), ms);
  });
  work.catch(ignore);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
