// Probes one data-plane instance in a tight loop (back-to-back chat completions, at most one every `intervalMs` so the
// probe does not become the instance's main load) with whatever key and model the current trial names, and tells
// waiters when an answer with a given status comes back.
import { Pool } from "undici";

export interface ProbeTarget {
  key: string;
  model: string;
}

interface Answer {
  target: ProbeTarget;
  sentAt: number;
  receivedAt: number;
  status: number;
}

interface Waiter {
  target: ProbeTarget;
  sentAfter: number;
  wanted: (status: number) => boolean;
  resolve: (receivedAt: number) => void;
  timer: NodeJS.Timeout;
}

export class InstanceProbe {
  readonly url: string;
  /** Answers that were neither what a waiter wanted nor 200 (e.g. a 5xx): a trial never counts them as enforcement. */
  unexpected = 0;
  firstUnexpected: string | null = null;
  requests = 0;
  /** Round trip of every probe request (ms). */
  readonly rtts: number[] = [];
  private target: ProbeTarget | null = null;
  private waiters = new Set<Waiter>();
  private running = true;
  private readonly pool: Pool;
  private readonly loops: Promise<void>[];

  private readonly intervalMs: number;

  constructor(url: string, inFlight = 1, intervalMs = 1) {
    this.url = url;
    this.intervalMs = intervalMs;
    this.pool = new Pool(url, { connections: inFlight });
    this.loops = Array.from({ length: inFlight }, () => this.loop());
  }

  aim(target: ProbeTarget): void {
    this.target = target;
  }

  /**
   * Resolves with the receive time of the first answer for `target` whose status is wanted and whose request was sent
   * at or after `sentAfter`; with Infinity after `timeoutMs`.
   */
  until(target: ProbeTarget, wanted: (status: number) => boolean, sentAfter: number, timeoutMs: number): Promise<number> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        target,
        sentAfter,
        wanted,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(Number.POSITIVE_INFINITY);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(this.loops);
    await this.pool.close();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const target = this.target;
      if (!target) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      const sentAt = performance.now();
      const next = sentAt + this.intervalMs;
      let status = 0;
      let text = "";
      try {
        const res = await this.pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { authorization: `Bearer ${target.key}`, "content-type": "application/json" },
          body: JSON.stringify({ model: target.model, max_tokens: 1, messages: [{ role: "user", content: "ping" }] }),
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (error) {
        text = (error as Error).message;
      }
      this.requests++;
      const receivedAt = performance.now();
      this.rtts.push(receivedAt - sentAt);
      this.answer({ target, sentAt, receivedAt, status }, text);
      const wait = next - performance.now();
      if (wait > 0.2) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private answer(answer: Answer, text: string): void {
    let wantedByAny = false;
    for (const w of this.waiters) {
      if (w.target !== answer.target || answer.sentAt < w.sentAfter || !w.wanted(answer.status)) continue;
      wantedByAny = true;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(answer.receivedAt);
    }
    if (!wantedByAny && answer.status !== 200 && answer.target === this.target && this.waiters.size > 0) {
      // A refusal nobody waits for (e.g. the old state still answering while we wait for the new one) is expected;
      // anything that is no refusal at all is noted.
      if (![401, 403, 429].includes(answer.status)) {
        this.unexpected++;
        this.firstUnexpected ??= `HTTP ${answer.status}: ${text.slice(0, 200)}`;
      }
    }
  }
}
