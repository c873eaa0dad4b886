// Bookkeeping that no client waits for, run once the responses of this event-loop turn are out.

export interface AfterResponse {
  /** Must not throw: it runs among others' (an error is caught and logged here only as a last resort). */
  afterResponse(): void;
}

let queued: AfterResponse[] = [];

/**
 * Runs `work.afterResponse()` in this turn's check phase (setImmediate), after every response relayed in the same poll
 * phase has been written. Under load, provider answers arrive in bursts (many upstream sockets readable in one poll);
 * settling and recording each request before relaying the next made every answer in a burst wait for the bookkeeping
 * of those ahead of it (issue 5: about 10 % of the gateway's CPU per request, measured with gateway-ab.ts).
 *
 * Work runs in order, under one setImmediate for all of it. A pending setImmediate keeps the process alive, so queued
 * work always runs.
 */
export function afterResponses(work: AfterResponse): void {
  queued.push(work);
  if (queued.length === 1) setImmediate(runQueued);
}

/** Resolves once the work queued so far has run (setImmediate callbacks run in the order they were set). */
export function afterResponsesRun(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function runQueued(): void {
  const works = queued;
  queued = [];
  for (const work of works) {
    try {
      work.afterResponse();
    } catch (error) {
      console.error("[tollgate] after-response work failed:", error);
    }
  }
}
