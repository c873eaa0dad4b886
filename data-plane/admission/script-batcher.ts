// Coalesces the admission script calls of one event-loop turn into one Redis round trip (batched-script.ts).
import { batchArguments, type PackedCall, packCall } from "./batched-script.ts";

export interface ScriptBatcherOptions {
  /** Runs one batch: EVALSHA of the batched script with these arguments; resolves with one reply per call. */
  run(numKeys: number, keysAndArgs: (string | number)[]): Promise<unknown[]>;
  /** A batch is sent at once when it reaches this many calls (keeps one script run short). Default 64. */
  maxCalls?: number;
  /**
   * 0 (the default): a batch leaves at the end of the loop's current round (setImmediate). More: it waits this long
   * for company. For calls nobody is waiting on (settles): they then share a round trip with more of their kind, and
   * do not run in Redis ahead of the admits that requests are waiting on.
   */
  lingerMs?: number;
}

export interface ScriptBatcher {
  /** Resolves with this call's own reply; rejects when its batch failed. */
  call(keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

interface Pending extends PackedCall {
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/**
 * Calls made while the loop handles one round of I/O (every request whose body arrived in it) go out together from
 * setImmediate, which runs right after that round: a lone request waits for nothing, while under load one EVALSHA
 * carries many requests, so the client writes, parses and Redis dispatches once for all of them. Each request still
 * makes exactly one round trip, and the order within a batch is the order of the calls.
 */
export function createScriptBatcher(options: ScriptBatcherOptions): ScriptBatcher {
  const maxCalls = options.maxCalls ?? 64;
  let pending: Pending[] = [];
  const lingerMs = options.lingerMs ?? 0;
  let scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;

  function schedule(): NodeJS.Immediate | NodeJS.Timeout {
    return lingerMs > 0 ? setTimeout(flush, lingerMs) : setImmediate(flush);
  }

  function flush(): void {
    if (scheduled !== null) {
      if (lingerMs > 0) clearTimeout(scheduled as NodeJS.Timeout);
      else clearImmediate(scheduled as NodeJS.Immediate);
    }
    scheduled = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    const { numKeys, keysAndArgs } = batchArguments(batch);
    let sent: Promise<unknown[]>;
    try {
      sent = options.run(numKeys, keysAndArgs);
    } catch (error) {
      for (const call of batch) call.reject(error);
      return;
    }
    sent.then(
      (replies) => {
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(replies[i]);
      },
      (error: unknown) => {
        for (const call of batch) call.reject(error);
      },
    );
  }

  return {
    call(keys, args) {
      return new Promise((resolve, reject) => {
        pending.push({ ...packCall({ keys, args }), resolve, reject });
        if (pending.length >= maxCalls) flush();
        else scheduled ??= schedule();
      });
    },
  };
}
