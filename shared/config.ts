// Tollgate's configuration: one zod schema, parsed once at start-up, with messages a person can act on.
import { z } from "zod";

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(0, `${name} must be between 0 and 65535`)
    .max(65535, `${name} must be between 0 and 65535`)
    .default(fallback);

const optionalUrl = (name: string, schemes: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === "" ? undefined : v))
    .refine(
      (v) => v === undefined || schemes.some((s) => v.startsWith(`${s}://`)),
      `${name} must start with ${schemes.map((s) => `${s}://`).join(" or ")}`,
    );

const flag = z
  .enum(["true", "false", "1", "0", "yes", "no", "on", "off"], {
    error: "must be one of true, false, 1, 0, yes, no, on, off",
  })
  .transform((v) => ["true", "1", "yes", "on"].includes(v));

export const configSchema = z.object({
  TOLLGATE_HOME: z.string().min(1).default("./.tollgate"),
  DATABASE_URL: optionalUrl("DATABASE_URL", ["postgres", "postgresql"]),
  REDIS_URL: optionalUrl("REDIS_URL", ["redis", "rediss"]),
  /** The Redis pub/sub channel of change events: deployments (or benchmark runs) sharing one Redis need their own. */
  CHANGE_BUS_CHANNEL: z.string().trim().min(1, "CHANGE_BUS_CHANNEL must not be empty").default("tollgate:changes"),
  /** Encrypts provider credentials at rest (32 bytes, base64 or hex). Required with DATABASE_URL. */
  TOLLGATE_SECRET_KEY: z.string().optional(),
  /** The owner created on first start with an empty database. */
  TOLLGATE_OWNER_EMAIL: z.string().trim().toLowerCase().pipe(z.email({ error: "TOLLGATE_OWNER_EMAIL must be an email address" })).default("owner@tollgate.local"),
  CONTROL_PLANE_HOST: z.string().min(1).default("127.0.0.1"),
  CONTROL_PLANE_PORT: port("CONTROL_PLANE_PORT", 4000),
  DATA_PLANE_HOST: z.string().min(1).default("127.0.0.1"),
  DATA_PLANE_PORT: port("DATA_PLANE_PORT", 8080),
  /** Applies pending migrations at start-up; on by default so a fresh install just works. */
  TOLLGATE_AUTO_MIGRATE: flag.default(true),
  /** Connections per process to Postgres (the embedded database always uses one). */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1, "DATABASE_POOL_SIZE must be at least 1").max(200).default(10),
  /**
   * A query not answered by then fails: a database that hangs instead of refusing (a network partition, a frozen
   * server) would otherwise hold control-plane requests and usage writes forever. As long as the snapshot load's own limit.
   */
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100, "DATABASE_QUERY_TIMEOUT_MS must be at least 100").default(60_000),
  GRAPHQL_MAX_BODY_BYTES: z.coerce.number().int().min(1024, "GRAPHQL_MAX_BODY_BYTES must be at least 1024").default(1_000_000),
  /** Schema introspection and the GraphiQL page: default on in embedded mode, off in production mode. */
  GRAPHQL_INTROSPECTION: flag.optional(),
  GRAPHIQL: flag.optional(),
  /** Where people reach the control plane; invite links start with it. Defaults to the control plane's own address. */
  TOLLGATE_PUBLIC_URL: optionalUrl("TOLLGATE_PUBLIC_URL", ["http", "https"]),
  INVITE_TTL_HOURS: z.coerce.number().int().min(1, "INVITE_TTL_HOURS must be at least 1").max(24 * 90).default(168),
  /** Optional mail for invites, as a nodemailer transport URL (smtp://user:pass@host:587); unset = links are returned. */
  SMTP_URL: optionalUrl("SMTP_URL", ["smtp", "smtps"]),
  SMTP_FROM: z.string().trim().default("Tollgate <tollgate@localhost>"),
  /** `npm start` runs the data plane in the same process as the control plane unless this is off. */
  RUN_DATA_PLANE: flag.default(true),
  /** Data plane: largest request body accepted (413 beyond). */
  DATA_PLANE_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(10_000_000),
  /**
   * Opt-in (0: off). After a burst, once nothing is in flight and the process is otherwise idle this long, one full V8
   * collection gives the memory the burst grew the heap to back to the system (data-plane/runtime/idle-collection.ts).
   * Off by default: the next burst then starts on a small heap, which cost 7–11 ms of p99 at 20 ms c64 (README).
   */
  DATA_PLANE_IDLE_COLLECT_MS: z.coerce.number().int().min(0).default(0),
  /** When Redis cannot be reached: rate limits fail open (admit, counted in a metric), budgets fail closed (503). */
  RATE_LIMIT_FAIL_MODE: z.enum(["open", "closed"], { error: "RATE_LIMIT_FAIL_MODE must be open or closed" }).default("open"),
  BUDGET_FAIL_MODE: z.enum(["open", "closed"], { error: "BUDGET_FAIL_MODE must be open or closed" }).default("closed"),
  /**
   * With Redis: requests of high limits (over 1,000 a minute, tokens and budgets with room for 200 such requests) are
   * admitted from quota leases, most without a round trip to Redis (data-plane/admission/admission-leases.ts).
   */
  ADMISSION_LEASES: flag.default(true),
  /** How long an admission decision may wait for Redis before the fail mode applies. */
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(200),
  UPSTREAM_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  /** Time to the first byte of the provider's response before trying the next route. */
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: z.coerce.number().int().min(1).default(60_000),
  /** Whole-request ceiling for one upstream call, streams included. */
  UPSTREAM_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(600_000),
  /** Output tokens reserved against budgets when a request names no max_tokens. */
  DEFAULT_MAX_TOKENS_ESTIMATE: z.coerce.number().int().min(1).default(4096),
  /** How often each data-plane instance compares its snapshot version with the database. */
  SNAPSHOT_RECONCILE_MS: z.coerce.number().int().min(100).default(5_000),
  /** uWebSockets.js silently falls back to a slow pure-JS server when its native binary does not load; refuse unless allowed. */
  UWS_ALLOW_FALLBACK: flag.default(false),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Config = z.infer<typeof configSchema> & {
  embedded: boolean;
  introspection: boolean;
  graphiql: boolean;
  publicUrl: string;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses environment-style variables; throws ConfigError listing every bad value at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`));
  }
  const data = parsed.data;
  const embedded = data.DATABASE_URL === undefined;
  return {
    ...data,
    embedded,
    introspection: data.GRAPHQL_INTROSPECTION ?? embedded,
    graphiql: data.GRAPHIQL ?? embedded,
    publicUrl: (data.TOLLGATE_PUBLIC_URL ?? `http://${data.CONTROL_PLANE_HOST}:${data.CONTROL_PLANE_PORT}`).replace(/\/+$/, ""),
  };
}
