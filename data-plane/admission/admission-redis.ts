// The Redis connection admission wants: commands fail at once while disconnected instead of queueing behind an outage.
import { Redis } from "ioredis";

export function createAdmissionRedis(url: string): Redis {
  return new Redis(url, {
    // Queued commands would hold requests until Redis returns; admission would rather apply its fail mode now.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    // Keep reconnecting, at most every two seconds, for as long as the process runs.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
  });
}
