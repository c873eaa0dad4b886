// Hand-built snapshots, a recording admission and usage sink, and a gateway on a random port for the gateway tests.
import type { Admission, AdmissionTicket, Bucket, KeyEntry, PrincipalEntry, RouteTarget, Snapshot, UsageRecordInput } from "../../data-plane/contracts.ts";
import { createMemoryAdmission } from "../../data-plane/admission/index.ts";
import { createGatewayMetrics } from "../../data-plane/metrics/gateway-metrics.ts";
import { type Gateway, type GatewayOptions, startGateway } from "../../data-plane/server/app.ts";
import { hashApiKey, mintApiKey } from "../../shared/api-key-format.ts";
import { loadConfig } from "../../shared/config.ts";
import { assertNoLeaks, findSecrets } from "../support/secret-scan.ts";

let sequence = 0;
const nextId = (prefix: string) => `${prefix}-${++sequence}`;

export function routeTo(baseUrl: string, overrides: Partial<RouteTarget> = {}): RouteTarget {
  const kind = overrides.providerKind ?? "openai";
  return {
    routeId: nextId("route"),
    providerId: nextId("provider"),
    providerName: `${kind}-mock`,
    providerKind: kind,
    // OpenAI-style bases carry the version path; Anthropic's is the origin (see providers/registry.ts).
    baseUrl: kind === "anthropic" ? baseUrl : `${baseUrl}/v1`,
    credentials: "sk-provider-secret",
    settings: {},
    providerModelId: nextId("pm"),
    upstreamModel: "mock-model",
    priority: 0,
    weight: 1,
    // $1 per million input tokens, $2 per million output, $0.50 per million cached: costs easy to check by hand.
    prices: { inputPerMTok: 1_000_000n, outputPerMTok: 2_000_000n, cachedInputPerMTok: 500_000n },
    ...overrides,
  };
}

export function bucket(scope: string, limits: Partial<Omit<Bucket, "scope">> = {}): Bucket {
  return { scope, budgets: [], ...limits };
}

export function principal(models: Record<string, RouteTarget[]>, limits: Partial<Omit<Bucket, "scope">> = {}): PrincipalEntry {
  const id = nextId("user");
  return { kind: "user", id, models: new Map(Object.entries(models)), bucket: bucket(`user:${id}`, limits) };
}

export interface TestKey {
  secret: string;
  entry: KeyEntry;
}

export function keyFor(owner: PrincipalEntry, overrides: Partial<Omit<KeyEntry, "principal">> = {}): TestKey {
  const minted = mintApiKey(owner.kind);
  return {
    secret: minted.secret,
    entry: {
      keyId: nextId("key"),
      prefix: minted.prefix,
      principal: owner,
      scopes: new Set(["inference"]),
      expiresAt: null,
      modelSlugs: new Set(),
      bucket: null,
      ...overrides,
    },
  };
}

export function snapshotOf(keys: TestKey[], slugs: string[], version = 1n): Snapshot {
  return {
    version,
    builtAt: Date.now(),
    keysByHash: new Map(keys.map((k) => [hashApiKey(k.secret), k.entry])),
    modelsBySlug: new Map(slugs.map((slug) => [slug, { id: nextId("model"), slug, kind: "CHAT", displayName: slug.toUpperCase() }])),
  };
}

/** Memory admission that also records every admit and settle, so tests can check "settled exactly once". */
export interface RecordingAdmission extends Admission {
  admitted: AdmissionTicket[];
  settled: { ticket: AdmissionTicket; actual: { tokens: number; micros: bigint } }[];
}

export function recordingAdmission(inner: Admission = createMemoryAdmission()): RecordingAdmission {
  const admitted: AdmissionTicket[] = [];
  const settled: RecordingAdmission["settled"] = [];
  return {
    admitted,
    settled,
    async admit(buckets, estimate, now) {
      const result = await inner.admit(buckets, estimate, now);
      if (result.ok) admitted.push(result.ticket);
      return result;
    },
    async settle(ticket, actual) {
      settled.push({ ticket, actual });
      await inner.settle(ticket, actual);
    },
    close: () => inner.close(),
  };
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  admission: RecordingAdmission;
  usage: UsageRecordInput[];
  logs: string[];
  setSnapshot(snapshot: Snapshot | null): void;
  /** Resolves once `count` usage records exist (they are written at the end of a request, after the response). */
  usageRecords(count: number, timeoutMs?: number): Promise<UsageRecordInput[]>;
  /** Gateway.close(graceMs), then the log's secrets check. */
  close(graceMs?: number): Promise<void>;
}

export async function startTestGateway(
  snapshot: Snapshot | null,
  options: { env?: Record<string, string>; admission?: Admission } & Partial<Pick<GatewayOptions, "callUpstream" | "adapterFor">> = {},
): Promise<TestGateway> {
  let current = snapshot;
  const admission = recordingAdmission(options.admission);
  const usage: UsageRecordInput[] = [];
  const logs: string[] = [];
  const config = loadConfig({ DATA_PLANE_PORT: "0", ...options.env });
  const gateway = await startGateway({
    config,
    snapshot: () => current,
    admission,
    usage: { add: (record) => usage.push(record) },
    metrics: createGatewayMetrics({ defaultMetrics: false }),
    log: (line) => logs.push(line),
    ...(options.callUpstream ? { callUpstream: options.callUpstream } : {}),
    ...(options.adapterFor ? { adapterFor: options.adapterFor } : {}),
  });
  return {
    gateway,
    url: `http://127.0.0.1:${gateway.port}`,
    admission,
    usage,
    logs,
    setSnapshot: (next) => (current = next),
    async usageRecords(count, timeoutMs = 5_000) {
      const giveUpAt = Date.now() + timeoutMs;
      while (usage.length < count) {
        if (Date.now() > giveUpAt) throw new Error(`expected ${count} usage records, got ${usage.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return usage;
    },
    async close(graceMs) {
      await gateway.close(graceMs);
      // What the gateway logged must hold no key and no route credential (test/support/secret-scan.ts).
      assertNoLeaks(logs.flatMap((line) => findSecrets(line, "gateway log")));
    },
  };
}
