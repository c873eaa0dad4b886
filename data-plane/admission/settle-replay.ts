// Settles that failed while Redis was unreachable, sent again once it answers: without this an outage of a second
// strands every concurrency slot taken before it for the whole lease (15 minutes), and the spend estimates until the
// budget window ends.
import type { AdmissionTicket } from "../contracts.ts";

export interface FailedSettle {
  ticket: AdmissionTicket;
  actual: { tokens: number; micros: bigint };
  /**
   * The failed attempt may have reached Redis (a timeout, a connection lost mid-command): only the idempotent part is
   * replayed, handing back the concurrency slot; token and spend corrections are not, since applying them twice would
   * under-count. A settle that surely never left (not connected) is replayed whole.
   */
  releaseOnly: boolean;
}

export interface SettleReplay {
  add(failed: FailedSettle): void;
  stop(): void;
}

/** A settle that never left this process: ioredis refused it (offline queue off) or we did not try. */
export function neverSent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return message.includes("Redis is not connected") || message.includes("Stream isn't writeable");
}

/**
 * `send` resolves true once a settle is applied. Retries every `retryMs` while Redis is not ready or a send fails;
 * at most `max` are kept, the oldest dropped first (their reservations then expire as they would have).
 */
export function createSettleReplay(
  send: (failed: FailedSettle) => Promise<boolean>,
  ready: () => boolean,
  options: { retryMs?: number; max?: number } = {},
): SettleReplay {
  const retryMs = options.retryMs ?? 1_000;
  const max = options.max ?? 10_000;
  let queue: FailedSettle[] = [];
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const schedule = () => {
    if (timer !== null || stopped || queue.length === 0) return;
    timer = setTimeout(replay, retryMs);
    timer.unref();
  };

  async function replay(): Promise<void> {
    timer = null;
    if (!ready()) return schedule();
    const batch = queue;
    queue = [];
    for (let i = 0; i < batch.length; i++) {
      if (stopped) return;
      if (!(await send(batch[i]!))) {
        queue = [...batch.slice(i), ...queue].slice(-max);
        break;
      }
    }
    schedule();
  }

  return {
    add(failed) {
      if (stopped) return;
      if (queue.length >= max) queue.shift();
      queue.push(failed);
      schedule();
    },
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      queue = [];
    },
  };
}
