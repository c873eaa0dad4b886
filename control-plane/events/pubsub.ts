// The change bus: in-process in embedded mode, Redis pub/sub when REDIS_URL is set so replicas agree.
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { createPubSub } from "graphql-yoga";
import { Redis } from "ioredis";
import type { ChangeEvent } from "./change-event.ts";

export interface ChangeBus {
  publish(event: ChangeEvent): void;
  subscribe(): AsyncIterable<ChangeEvent>;
  close(): Promise<void>;
}

type PubSub = ReturnType<typeof createPubSub<Record<string, [ChangeEvent]>>>;

/** `channel` separates deployments (and test runs) sharing one Redis. */
export function createChangeBus(redisUrl: string | undefined, channel = "tollgate:changes"): ChangeBus {
  if (!redisUrl) return busOver(createPubSub<Record<string, [ChangeEvent]>>(), channel, async () => undefined);
  // A subscribed Redis connection cannot issue other commands, hence two clients.
  const publishClient = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const report = (error: Error) => console.error(`[tollgate] change bus (redis): ${error.message}`);
  publishClient.on("error", report);
  subscribeClient.on("error", report);
  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: neverRejecting(publishClient, ["publish"], report),
    subscribeClient: neverRejecting(subscribeClient, ["subscribe", "unsubscribe"], report),
  });
  return busOver(createPubSub<Record<string, [ChangeEvent]>>({ eventTarget }), channel, async () => {
    await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
  });
}

/**
 * The event target fires Redis commands without awaiting them; while Redis is down those promises reject and
 * would crash the process. A lost event is recovered by version-gap resync, so log and carry on.
 */
function neverRejecting(client: Redis, methods: string[], report: (error: Error) => void): Redis {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (!methods.includes(String(property))) return value.bind(target);
      return (...args: unknown[]) => (value.apply(target, args) as Promise<unknown>).catch(report);
    },
  });
}

function busOver(pubsub: PubSub, channel: string, closeTransport: () => Promise<void>): ChangeBus {
  let open = 0;
  return {
    publish: (event) => pubsub.publish(channel, event),
    subscribe() {
      const source = pubsub.subscribe(channel);
      return {
        [Symbol.asyncIterator]() {
          const iterator = source[Symbol.asyncIterator]();
          open += 1;
          let finished = false;
          const finish = () => {
            if (!finished) open -= 1;
            finished = true;
          };
          return {
            next: () => iterator.next(),
            return: async (value?: unknown) => {
              try {
                return (await iterator.return?.(value)) ?? { done: true as const, value: undefined };
              } finally {
                finish();
              }
            },
          };
        },
      };
    },
    async close() {
      // Let subscriptions being torn down unsubscribe before the connection goes.
      for (let waited = 0; open > 0 && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      await closeTransport();
    },
  };
}
