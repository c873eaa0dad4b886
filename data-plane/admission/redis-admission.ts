// Admission over Redis so every data-plane instance shares one set of counters: one Lua round trip per admit and settle.
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Admission, AdmissionTicket, AdmitResult, Bucket } from "../contracts.ts";
import { createLeaseBook, type LeaseCounters, type LeaseDeltas, leaseUnitsAllowed } from "./admission-leases.ts";
import { type Check, checksOf, hasBudgets, hasRateLimits } from "./checks.ts";
import { ADMIT_MANY_SCRIPT, SETTLE_MANY_SCRIPT } from "./redis-admit-script.ts";
import { createScriptBatcher } from "./script-batcher.ts";
import { createSettleReplay, type FailedSettle, neverSent } from "./settle-replay.ts";
import { admitResult, unavailableResult, type Verdict, type WindowState } from "./verdict.ts";
import { correctionOf, DEFAULT_CONCURRENCY_LEASE_MS, ticketFor, wholeMicros } from "./tickets.ts";
import { SECOND_MS, secondIndex } from "./windows.ts";

export type FailMode = "open" | "closed";

/** fail_open: admitted without counting; unavailable: refused (503); settle_failed: a reservation was not replaced. */
export type DegradedKind = "fail_open" | "unavailable" | "settle_failed";

export interface RedisAdmissionOptions {
  /** Longest wait for Redis on the request path before the fail mode decides. */
  timeoutMs: number;
  rateLimitFailMode: FailMode;
  /** Applies to every request with a budget; "closed" means no spend is admitted while spend cannot be counted. */
  budgetFailMode: FailMode;
  /** Prefixes every key, so deployments (and tests) can share a Redis. */
  keyPrefix: string;
  onDegraded?: (kind: DegradedKind, error: Error) => void;
  /** How long a concurrency slot outlives an instance that crashed before settling. Default 15 minutes. */
  concurrencyLeaseMs?: number;
  /**
   * Admit requests of high limits from quota leases (admission-leases.ts): most then cost no round trip. Off by
   * default here, so the engine alone is what the admission tests see; the data plane turns it on (ADMISSION_LEASES).
   */
  leases?: boolean;
  /** Called for each request admitted from a lease (no round trip), for a metric. */
  onLeaseAdmit?: () => void;
}

/**
 * Rate hashes outlive their 61-second window: the admit script pushes the expiry back when the newest second enters
 * a new minute (not on every write), so it must cover that minute plus the window after it, with room for clock skew.
 */
/**
 * Admits per EVALSHA: a script blocks Redis while it runs (~30 µs per request), so a wave of requests goes out in a few
 * scripts, and the first requests start upstream while Redis works on the rest.
 */
const ADMIT_BATCH = 16;
/** How long a settle waits for others; meanwhile its reservation stays counted (measured: see the notes on issue 5). */
const SETTLE_LINGER_MS = 5;
const RATE_TTL_MS = 180_000;
const KIND_CODES = { requests: "r", requestLog: "s", tokens: "t", concurrency: "c", budget: "b" } as const;
const KEY_SUFFIXES = { requests: "rpm", tokens: "tpm", concurrency: "concurrency" } as const;

/** What admit counted for a ticket, its checks and their keys in order, kept so its settle does not derive them again. */
interface Counted {
  checks: readonly Check[];
  keys: readonly string[];
}

interface ScriptedRedis extends Redis {
  tollgateAdmitMany(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown[]>;
  tollgateSettleMany(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown[]>;
}

/**
 * Counter keys share a hash tag, the principal's scope (not the key's), so on Redis Cluster one request's keys sit in
 * one slot and the script stays atomic; an API key always belongs to the same principal, so its tag never changes.
 */
export function counterKey(keyPrefix: string, buckets: readonly Bucket[], check: Check): string {
  const tag = (buckets.find((bucket) => !bucket.scope.startsWith("key:")) ?? buckets[0])?.scope ?? check.scope;
  const base = `${keyPrefix}{${tag}}:${check.scope}`;
  if (check.kind === "budget") return `${base}:budget:${check.period}:${check.windowStart}`;
  if (check.kind === "requestLog") return `${base}:${check.windowMs === SECOND_MS ? "rps" : `rlog${check.windowMs}`}`;
  return `${base}:${KEY_SUFFIXES[check.kind]}`;
}

/**
 * The caller owns `redis` (create it with createAdmissionRedis so commands fail fast) and quits it after close().
 * admit and settle never throw: Redis errors and timeouts go to the fail modes and onDegraded.
 */
export function createRedisAdmission(redis: Redis, options: RedisAdmissionOptions): Admission {
  const { timeoutMs, keyPrefix } = options;
  const leaseMs = options.concurrencyLeaseMs ?? DEFAULT_CONCURRENCY_LEASE_MS;
  const client = redis as ScriptedRedis;
  // defineCommand sends EVALSHA and falls back to EVAL once if Redis lost the script (restart, SCRIPT FLUSH).
  if (typeof client.tollgateAdmitMany !== "function") client.defineCommand("tollgateAdmitMany", { lua: ADMIT_MANY_SCRIPT });
  if (typeof client.tollgateSettleMany !== "function") client.defineCommand("tollgateSettleMany", { lua: SETTLE_MANY_SCRIPT });
  // Every admit and settle of one event-loop turn shares one EVALSHA (script-batcher.ts).
  const admits = createScriptBatcher({ run: (numKeys, keysAndArgs) => client.tollgateAdmitMany(numKeys, ...keysAndArgs), maxCalls: ADMIT_BATCH });
  const settles = createScriptBatcher({
    run: (numKeys, keysAndArgs) => client.tollgateSettleMany(numKeys, ...keysAndArgs),
    lingerMs: SETTLE_LINGER_MS,
  });
  // Without a listener ioredis reports every failed reconnect as unhandled; outages surface through onDegraded.
  const ignoreConnectionError = () => undefined;
  redis.on("error", ignoreConnectionError);

  const instance = randomBytes(6).toString("base64url");
  let sequence = 0;
  const pending = new WeakMap<AdmissionTicket, Counted>();
  const settling = new Set<Promise<unknown>>();
  // A replay is rare and may outlive its admit's record: it derives the checks from the ticket again.
  const replay = createSettleReplay((failed) => settleCounted(failed.ticket, countedOf(failed.ticket), failed.actual, failed), () => redis.status === "ready");
  const book = options.leases === true ? createLeaseBook({ send: sendLease, onLost: (error) => report("settle_failed", error) }) : null;

  function countedFor(buckets: Bucket[], checks: Check[]): Counted {
    return { checks, keys: checks.map((check) => counterKey(keyPrefix, buckets, check)) };
  }

  function countedOf(ticket: AdmissionTicket): Counted {
    return countedFor(ticket.buckets, checksOf(ticket.buckets, ticket.at));
  }

  /** The counters a settle goes to (a ticket's or a lease's): those its admit counted, in that admit's second. */
  function countersOf(ticket: AdmissionTicket, counted: Counted): LeaseCounters {
    return { id: ticket.id, checks: counted.checks, keys: counted.keys, at: ticket.at };
  }

  function report(kind: DegradedKind, error: unknown): void {
    try {
      options.onDegraded?.(kind, error instanceof Error ? error : new Error(String(error)));
    } catch {
      // A failing observer must not turn a degraded answer into a crash.
    }
  }

  function degraded(buckets: Bucket[], ticket: AdmissionTicket, error: unknown): AdmitResult {
    const closed =
      (options.budgetFailMode === "closed" && hasBudgets(buckets)) || (options.rateLimitFailMode === "closed" && hasRateLimits(buckets));
    if (closed) {
      report("unavailable", error);
      return unavailableResult();
    }
    report("fail_open", error);
    // Not pending: nothing was counted, so its settle does nothing.
    return { ok: true, ticket, headers: {} };
  }

  /** `leased` false: this request asks Redis for itself alone (a lease it waited for was not opened). */
  async function admit(buckets: Bucket[], estimate: { tokens: number; micros: bigint }, now: number, leased = true): Promise<AdmitResult> {
    const ticket = ticketFor(`${instance}.${++sequence}`, buckets, estimate, now);
    // Before anything is derived: a lease exists only for buckets it was allowed for, and any room it has was counted.
    const local = book !== null && leased ? book.take(buckets, ticket, now) : null;
    if (local !== null) {
      options.onLeaseAdmit?.();
      return local;
    }
    const checks = checksOf(buckets, now);
    if (checks.length === 0) return admitResult({ failed: -1, waitMs: 0, requests: null, tokens: null }, checks, ticket);
    const most = book !== null && leased ? leaseUnitsAllowed(checks, ticket.reservedTokens, ticket.reservedMicros) : 0;
    const leases = most >= 2 ? book : null;
    // Requests arriving while a lease for the same buckets is being counted wait for it rather than ask too; when it
    // was not opened (near or over a limit) they ask side by side, as without leases, not one after another.
    const inFlight = leases?.acquiring(buckets);
    if (inFlight !== undefined) return admit(buckets, estimate, Date.now(), await inFlight);
    if (redis.status !== "ready") return degraded(buckets, ticket, new Error(`Redis is not connected (${redis.status})`));
    if (leases === null) return admitCounted(buckets, ticket, checks, 1, now);
    const acquired = leases.startAcquiring(buckets);
    try {
      return await admitCounted(buckets, ticket, checks, leases.unitsWanted(buckets, most), now);
    } finally {
      acquired();
    }
  }

  /** One admit in Redis: of this request alone (units 1), or of a lease of up to `units` requests like it. */
  async function admitCounted(buckets: Bucket[], ticket: AdmissionTicket, checks: Check[], units: number, now: number): Promise<AdmitResult> {
    const counted = countedFor(buckets, checks);
    const args: (string | number)[] = [secondIndex(now), now, ticket.reservedTokens, ticket.reservedMicros.toString(), ticket.id, leaseMs, RATE_TTL_MS, units];
    for (const check of checks) {
      if (check.kind === "budget") args.push("b", check.capMicros.toString(), check.windowEnd ?? 0);
      else args.push(KIND_CODES[check.kind], check.limit, check.kind === "requestLog" ? check.windowMs : 0);
    }
    let call: Promise<number[]> | undefined;
    try {
      call = admits.call(counted.keys, args) as Promise<number[]>;
      const reply = await withTimeout(call, timeoutMs);
      const verdict: Verdict = {
        failed: reply[0]!,
        waitMs: reply[1]!,
        requests: windowState(reply[2]!, reply[3]!, reply[4]!),
        tokens: windowState(reply[5]!, reply[6]!, reply[7]!),
      };
      const granted = reply[8]!;
      if (verdict.failed < 0 && granted >= 2) return book!.open(countersOf(ticket, counted), ticket, verdict, granted);
      if (verdict.failed < 0) pending.set(ticket, counted);
      return admitResult(verdict, checks, ticket);
    } catch (error) {
      // A reply that lands after we gave up may still have reserved: hand that reservation straight back. A reply
      // lost with its connection leaves that unknown: free the slot it may hold (spend and tokens stay counted).
      call?.then(
        (late) => {
          if (late[0]! >= 0) return;
          const granted = late[8]!;
          if (granted < 2) return void track(settleCounted(ticket, counted, { tokens: 0, micros: 0n }));
          const all = { requests: -granted, tokens: -granted * ticket.reservedTokens, micros: -BigInt(granted) * ticket.reservedMicros };
          void track(sendLease(countersOf(ticket, counted), all).catch((lost: unknown) => report("settle_failed", lost)));
        },
        (lost: unknown) => {
          if (!neverSent(lost)) replay.add({ ticket, actual: { tokens: 0, micros: 0n }, releaseOnly: true });
        },
      );
      return degraded(buckets, ticket, error);
    }
  }

  async function settle(ticket: AdmissionTicket, actual: { tokens: number; micros: bigint }): Promise<void> {
    if (book?.settle(ticket, actual) === true) return;
    // Deleting first makes a second (or concurrent) settle of the same ticket a no-op.
    const counted = pending.get(ticket);
    if (counted === undefined) return;
    pending.delete(ticket);
    await track(settleCounted(ticket, counted, actual));
  }

  function track<T>(work: Promise<T>): Promise<T> {
    settling.add(work);
    void work.finally(() => settling.delete(work));
    return work;
  }

  /** Resolves false when Redis could not be reached; the settle is then replayed later (settle-replay.ts). */
  async function settleCounted(
    ticket: AdmissionTicket,
    counted: Counted,
    actual: { tokens: number; micros: bigint },
    retry?: FailedSettle,
  ): Promise<boolean> {
    // Requests stay counted once made; tokens, slots and spend are replaced by what really happened.
    const releaseOnly = retry?.releaseOnly === true;
    const checks: Check[] = [];
    const keys: string[] = [];
    counted.checks.forEach((check, i) => {
      if (releaseOnly ? check.kind === "concurrency" : check.kind !== "requests" && check.kind !== "requestLog") {
        checks.push(check);
        keys.push(counted.keys[i]!);
      }
    });
    if (checks.length === 0) return true;
    try {
      await sendSettle(countersOf(ticket, { checks, keys }), { requests: 0, ...correctionOf(ticket, actual) }, wholeMicros(actual.micros));
      return true;
    } catch (error) {
      // Until a replay lands, the reservation stays: tokens until their window passes, the slot until its lease ends,
      // the spend estimate until the budget window ends.
      const mayHaveApplied = !neverSent(error);
      if (retry !== undefined) retry.releaseOnly ||= mayHaveApplied;
      else {
        report("settle_failed", error);
        replay.add({ ticket, actual, releaseOnly: mayHaveApplied });
      }
      return false;
    }
  }

  /**
   * One run of the settle script over `counted`'s counters, in the second they were counted in: a ticket's correction,
   * or a lease's (requests it hands back too). `actualMicros` is what a budget counter that is gone starts from again.
   * Rejects when Redis did not take it.
   */
  async function sendSettle(counted: LeaseCounters, deltas: LeaseDeltas, actualMicros: bigint): Promise<void> {
    if (redis.status !== "ready") throw new Error(`Redis is not connected (${redis.status})`);
    const args: (string | number)[] = [
      secondIndex(counted.at),
      secondIndex(Date.now()),
      deltas.tokens,
      deltas.micros.toString(),
      actualMicros.toString(),
      counted.id,
      RATE_TTL_MS,
      deltas.requests,
    ];
    for (const check of counted.checks) args.push(KIND_CODES[check.kind], check.kind === "budget" ? (check.windowEnd ?? 0) : 0);
    await withTimeout(settles.call(counted.keys, args), timeoutMs);
  }

  /** A lease's settle; the lease book decides what to send again when it fails (admission-leases.ts). */
  function sendLease(lease: LeaseCounters, deltas: LeaseDeltas): Promise<void> {
    return sendSettle(lease, deltas, wholeMicros(deltas.micros));
  }

  return {
    admit,
    settle,
    async close() {
      await book?.close();
      await Promise.allSettled([...settling]);
      replay.stop();
      redis.off("error", ignoreConnectionError);
    },
  };
}

function windowState(limit: number, remaining: number, resetMs: number): WindowState | null {
  return limit < 0 ? null : { limit, remaining, resetMs };
}

class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
  }
}

/**
 * The timer's verdict waits for one pass of the loop's I/O phase (setImmediate runs after it): libuv runs timers
 * before it polls sockets, so on a busy process a reply already sitting in the socket would otherwise lose to a timer
 * that fired while the loop was working on other requests, and a healthy Redis would be reported as down.
 */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => setImmediate(() => reject(new RedisTimeoutError(ms))), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
