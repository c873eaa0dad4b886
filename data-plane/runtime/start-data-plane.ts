// Wires one data-plane instance: the policy snapshot that follows the control plane, admission (Redis or in-process),
// the usage writer, and the uWebSockets.js gateway. Shutdown lets streams finish, then flushes every usage record.
import type { Redis } from "ioredis";
import type { Db } from "../../control-plane/db/client.ts";
import type { ChangeBus } from "../../control-plane/events/pubsub.ts";
import type { Config } from "../../shared/config.ts";
import type { CredentialCipher } from "../../shared/credential-cipher.ts";
import { createAdmissionRedis, createMemoryAdmission, createRedisAdmission } from "../admission/index.ts";
import { createGatewayMetrics } from "../metrics/gateway-metrics.ts";
import { closeUpstreams } from "../relay/upstream-client.ts";
import { startGateway } from "../server/app.ts";
import { startIdleCollection } from "./idle-collection.ts";
import { startSnapshotSync } from "../snapshot/index.ts";
import { createDropLog, createUsageWriter, insertUsageRecords, refusedByDatabase } from "../usage/index.ts";

export interface DataPlaneServices {
  config: Config;
  prisma: Db;
  bus: ChangeBus;
  cipher: CredentialCipher;
  log: (line: string) => void;
  /** Separates deployments (and tests) sharing one Redis. */
  redisKeyPrefix?: string;
}

export interface DataPlane {
  port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startDataPlane(services: DataPlaneServices): Promise<DataPlane> {
  const { config, prisma, bus, cipher, log } = services;
  const metrics = createGatewayMetrics();
  const sync = startSnapshotSync({
    prisma,
    cipher,
    bus,
    reconcileMs: config.SNAPSHOT_RECONCILE_MS,
    log,
    onSwap: (snapshot, update, events) => {
      metrics.snapshotVersion.set(Number(snapshot.version));
      metrics.snapshotUpdates.labels(update).inc();
      const now = Date.now();
      for (const event of events) {
        const at = Date.parse(event.at);
        if (Number.isFinite(at)) metrics.changeLag.observe(Math.max(0, now - at) / 1000);
      }
    },
  });
  await sync.ready;

  const redis = config.REDIS_URL ? await connectedRedis(config.REDIS_URL, log) : null;
  const admission = redis
    ? createRedisAdmission(redis, {
        timeoutMs: config.REDIS_TIMEOUT_MS,
        rateLimitFailMode: config.RATE_LIMIT_FAIL_MODE,
        budgetFailMode: config.BUDGET_FAIL_MODE,
        keyPrefix: services.redisKeyPrefix ?? "tollgate:admission:",
        onDegraded: (kind) => metrics.recordDegraded(kind),
        leases: config.ADMISSION_LEASES,
        onLeaseAdmit: () => metrics.leaseAdmits.inc(),
      })
    : createMemoryAdmission();
  const dropLog = createDropLog(log);
  const usage = createUsageWriter({
    write: insertUsageRecords(prisma.$pool),
    refused: refusedByDatabase,
    log,
    onDropped: (count, reason) => dropLog.dropped(count, reason),
  });
  metrics.observeUsageWriter(usage);
  const gateway = await startGateway({ config, snapshot: () => sync.current(), admission, usage, metrics, log });
  const idleCollection =
    config.DATA_PLANE_IDLE_COLLECT_MS > 0
      ? startIdleCollection({
          idleMs: config.DATA_PLANE_IDLE_COLLECT_MS,
          inFlight: gateway.inFlight,
          onCollect: (before, after, pauseMs) =>
            log(`[tollgate] idle: V8 heap ${mib(before)} → ${mib(after)} MiB after a collection of ${Math.round(pauseMs)} ms`),
        })
      : null;
  log(`data plane ready: http://${config.DATA_PLANE_HOST}:${gateway.port}/v1 (policy version ${sync.current().version})`);

  return {
    port: gateway.port,
    async close(graceMs = 10_000) {
      idleCollection?.stop();
      await gateway.close(graceMs);
      await usage.close();
      dropLog.close();
      await sync.stop();
      await admission.close();
      await redis?.quit().catch(() => undefined);
      await closeUpstreams();
    },
  };
}

/** Admission cannot count until Redis answers; waiting here keeps the first requests from meeting the fail modes. */
async function connectedRedis(url: string, log: (line: string) => void): Promise<Redis> {
  const redis = createAdmissionRedis(url);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log("Redis is not answering yet: admission applies its fail modes until it does");
      resolve();
    }, 5_000);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
