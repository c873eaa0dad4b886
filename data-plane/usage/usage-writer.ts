// Buffers usage records off the request path and writes them in batches, in order, riding out database outages.
import type { UsageRecordInput } from "../contracts.ts";

export interface UsageWriterOptions {
  /** Writes one batch; must be idempotent per requestId, since a batch whose reply was lost is written again. */
  write: (records: UsageRecordInput[]) => Promise<void>;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Records held (queued and being written) before the oldest queued ones are dropped. */
  maxBuffered?: number;
  /** Longest wait between retries of a failed batch. */
  maxBackoffMs?: number;
  /** How long close() keeps retrying before it gives up on what is left. */
  closeTimeoutMs?: number;
  /**
   * True when a batch failed for what it holds (a record the database refuses), not because the database is away.
   * Such a batch is split until the refused record is alone, and that one record is dropped: retrying it would hold
   * back every record behind it forever.
   */
  refused?: (error: unknown) => boolean;
  onDropped?: (count: number, reason: DropReason) => void;
  log?: (message: string) => void;
}

/**
 * buffer_full: past maxBuffered; closed: added after close(); unwritten: still held when close() gave up on an
 * unreachable database; refused: see `refused`.
 */
export type DropReason = "buffer_full" | "closed" | "unwritten" | "refused";

/** The reasons whose drops the writer logs itself, with what only it knows (a refused record's id, the database's reason). */
export const LOGGED_BY_WRITER: ReadonlySet<DropReason> = new Set(["refused", "unwritten"]);

export interface UsageWriter {
  /** O(1); never blocks or throws. */
  add(record: UsageRecordInput): void;
  /** Resolves once everything added before the call is written (or dropped). */
  flush(): Promise<void>;
  /** Writes what is still buffered, retrying until closeTimeoutMs; later add() calls are dropped. */
  close(): Promise<void>;
  buffered(): number;
  dropped(): number;
}

const MIN_BACKOFF_MS = 50;

export function createUsageWriter(options: UsageWriterOptions): UsageWriter {
  const batchSize = options.batchSize ?? 500;
  const flushIntervalMs = options.flushIntervalMs ?? 250;
  const maxBuffered = options.maxBuffered ?? 100_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const log = options.log ?? ((message: string) => console.error(`[tollgate] usage writer: ${message}`));

  // A queue with a moving head: add and drop are O(1); the array is compacted once the dead prefix dominates.
  let queue: (UsageRecordInput | undefined)[] = [];
  let head = 0;
  let batch: UsageRecordInput[] | null = null;
  // Halves of refused batches, the next to write on top; empty unless a record was refused.
  const splits: UsageRecordInput[][] = [];
  let droppedCount = 0;
  let added = 0;
  let done = 0;
  let timer: NodeJS.Timeout | null = null;
  let pumping: Promise<void> | null = null;
  let closing = false;
  let deadline = Number.POSITIVE_INFINITY;
  const waiters: { target: number; resolve: () => void }[] = [];

  const queued = () => queue.length - head;
  const taken = () => (batch?.length ?? 0) + splits.reduce((sum, split) => sum + split.length, 0);

  function drop(count: number, reason: DropReason): void {
    droppedCount += count;
    settleWaiters(count);
    try {
      options.onDropped?.(count, reason);
    } catch {
      // An observer's failure must not reach add().
    }
  }

  function settleWaiters(count: number): void {
    done += count;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (done >= waiter.target) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function take(): UsageRecordInput[] {
    const end = Math.min(queue.length, head + batchSize);
    const records = queue.slice(head, end) as UsageRecordInput[];
    head = end;
    compact();
    return records;
  }

  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function add(record: UsageRecordInput): void {
    added++;
    if (closing) {
      drop(1, "closed");
      return;
    }
    queue.push(record);
    // The batch being written counts too, but only queued records can go: the batch is already on its way.
    if (queued() + taken() > maxBuffered && queued() > 0) {
      queue[head++] = undefined;
      compact();
      drop(1, "buffer_full");
    }
    if (queued() >= batchSize) pump();
    else if (!timer && !pumping) timer = setTimeout(onTimer, flushIntervalMs);
  }

  function onTimer(): void {
    timer = null;
    pump();
  }

  function pump(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!pumping) {
      pumping = drain().finally(() => {
        pumping = null;
        if (queued() > 0 && !closing) timer = setTimeout(onTimer, flushIntervalMs);
      });
    }
    return pumping;
  }

  async function drain(): Promise<void> {
    let failures = 0;
    while (batch || splits.length > 0 || queued() > 0) {
      const current = (batch ??= splits.pop() ?? take());
      try {
        await options.write(current);
        batch = null;
        failures = 0;
        settleWaiters(current.length);
      } catch (error) {
        if (options.refused?.(error)) {
          batch = null;
          refuse(current, error);
          continue;
        }
        failures++;
        const wait = Math.min(maxBackoffMs, MIN_BACKOFF_MS * 2 ** Math.min(failures - 1, 16));
        log(`writing ${current.length} records failed (attempt ${failures}), retrying in ${wait} ms: ${(error as Error)?.message ?? error}`);
        if (Date.now() + wait > deadline) return giveUp();
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /** Halves go back in order (the first on top); a record refused alone is dropped. */
  function refuse(records: UsageRecordInput[], error: unknown): void {
    if (records.length > 1) {
      const half = records.length >>> 1;
      splits.push(records.slice(half), records.slice(0, half));
      return;
    }
    log(`the database refuses usage record ${records[0]!.requestId}, dropping it: ${(error as Error)?.message ?? error}`);
    drop(1, "refused");
  }

  function giveUp(): void {
    const left = taken() + queued();
    batch = null;
    splits.length = 0;
    queue = [];
    head = 0;
    log(`closing with the database unreachable: ${left} usage records are lost`);
    drop(left, "unwritten");
  }

  function flush(): Promise<void> {
    if (added === done) return Promise.resolve();
    const flushed = new Promise<void>((resolve) => waiters.push({ target: added, resolve }));
    void pump();
    return flushed;
  }

  async function close(): Promise<void> {
    if (closing) return flush();
    closing = true;
    deadline = Date.now() + closeTimeoutMs;
    await flush();
  }

  return { add, flush, close, buffered: () => queued() + taken(), dropped: () => droppedCount };
}
