// Item 6: time from a committed change (key revoked, grant removed, rate limit lowered, and the other revocations: a
// user disabled, provider access removed) to its enforcement on each of
// two data-plane instances under continuous load, on the bench's small policy and on the large dataset. A control plane
// (control-plane/main.ts, RUN_DATA_PLANE=false) and two data planes (data-plane/main.ts) run as processes of their own
// on one change-bus channel; this process commits through GraphQL and probes both instances in tight loops.
import { bucketsBetween, histogramBuckets } from "../metric-histogram.ts";
import { CLIENT_CORE, benchFile, type BenchEnv, startStoppableDataPlaneChild } from "../bench-env.ts";
import { bigDataset, datasetNote } from "../dataset.ts";
import { ms } from "../format.ts";
import { type GraphQLClient, graphqlClient } from "../graphql-client.ts";
import { InstanceProbe, type ProbeTarget } from "../instance-probe.ts";
import { startStoppableChild } from "../processes.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import { addOwnerKey } from "../seed-dataset.ts";
import { summarize } from "../stats.ts";

const TRIALS = Number(process.env.BENCH_PROPAGATION_TRIALS ?? 200);
const LOAD_RATE = process.env.BENCH_PROPAGATION_LOAD_RATE ?? "100";
const TIMEOUT_MS = Number(process.env.BENCH_PROPAGATION_TIMEOUT_MS ?? 10_000);
/** A probe sends its next request as soon as the last one answered, but not sooner than this after the last one was sent. */
const PROBE_INTERVAL_MS = Number(process.env.BENCH_PROPAGATION_PROBE_INTERVAL_MS ?? 1);
const TARGET_P99_MS = 50;
const INSTANCES = 2;

type Kind = "key revoked" | "grant removed" | "rate limit lowered" | "user disabled" | "provider access removed";
const KINDS: readonly Kind[] = ["key revoked", "grant removed", "rate limit lowered", "user disabled", "provider access removed"];
const REFUSAL: Record<Kind, number> = { "key revoked": 401, "grant removed": 403, "rate limit lowered": 429, "user disabled": 401, "provider access removed": 403 };
const HIGH_LIMIT = 1_000_000_000;

interface PhaseResult {
  label: string;
  /** Per kind, per instance: ms from the mutation's answer to the instance's first refusal (Infinity: never, within the timeout). */
  latencies: Record<Kind, number[][]>;
  fullRebuilds: number[];
  appliedChanges: number[];
  /** Per instance: event published → applied (from the instance's histogram), p50 and p99 bucket bounds. */
  lag: Array<[string, string]>;
  /** Per instance: probe round trips, p50 and p99. */
  probeRtt: Array<[number, number]>;
  probeRequests: number[];
  probeUnexpected: string[];
  load: string[];
  /** Per instance: its log lines about resyncs and failures during the phase. */
  resyncs: string[][];
}

const E = `... on Error { code message }`;
const M = {
  createProvider: `mutation ($input: CreateProviderInput!) { r: createProvider(input: $input) { ... on Provider { id } ${E} } }`,
  addProviderModel: `mutation ($input: AddProviderModelInput!) { r: addProviderModel(input: $input) { ... on ProviderModel { id } ${E} } }`,
  createModel: `mutation ($input: CreateModelInput!) { r: createModel(input: $input) { ... on Model { id slug } ${E} } }`,
  addModelRoute: `mutation ($input: AddModelRouteInput!) { r: addModelRoute(input: $input) { ... on Model { id } ${E} } }`,
  createUser: `mutation ($input: CreateUserInput!) { r: createUser(input: $input) { ... on User { id } ${E} } }`,
  addMembers: `mutation ($input: GroupMembersInput!) { r: addGroupMembers(input: $input) { ... on Group { id } ${E} } }`,
  createKey: `mutation ($input: CreateApiKeyInput!) { r: createApiKey(input: $input) { ... on CreatedApiKey { secret apiKey { id } } ${E} } }`,
  revokeKey: `mutation ($id: ID!) { r: revokeApiKey(id: $id) { ... on ApiKey { id } ${E} } }`,
  grant: `mutation ($input: GrantModelInput!) { r: grantModel(input: $input) { ... on ModelGrant { id } ${E} } }`,
  revokeGrant: `mutation ($id: ID!) { r: revokeGrant(id: $id) { ... on ModelGrant { id } ${E} } }`,
  setLimit: `mutation ($input: SetRateLimitInput!) { r: setRateLimit(input: $input) { ... on RateLimit { id } ${E} } }`,
  disableUser: `mutation ($id: ID!) { r: disableUser(id: $id) { ... on User { id } ${E} } }`,
  enableUser: `mutation ($id: ID!) { r: enableUser(id: $id) { ... on User { id } ${E} } }`,
  setAccess: `mutation ($input: SetProviderAccessInput!) { r: setProviderAccess(input: $input) { ... on ProviderAccess { id } ${E} } }`,
  removeAccess: `mutation ($id: ID!) { r: removeProviderAccess(id: $id) { ... on ProviderAccess { id } ${E} } }`,
};

async function mutate(gql: GraphQLClient, query: string, variables: Record<string, unknown>): Promise<any> {
  const { data } = await gql.request(query, variables);
  if (data.r?.code) throw new Error(`${data.r.code}: ${data.r.message}`);
  return data.r;
}

/** One trial's change: what to probe with, how to commit it, and how to undo it for the next trial of its kind. */
interface TrialKind {
  prepare(): Promise<ProbeTarget>;
  commit(target: ProbeTarget): Promise<unknown>;
  restore(target: ProbeTarget): Promise<unknown>;
}

async function world(gql: GraphQLClient, mockUrl: string, label: string, groupIds: string[]) {
  const tag = `${label}-${Date.now().toString(36)}`;
  const provider = await mutate(gql, M.createProvider, { input: { name: `propagation mock ${tag}`, kind: "openai", baseUrl: `${mockUrl}/v1`, credentials: "sk-bench" } });
  const pm = await mutate(gql, M.addProviderModel, { input: { providerId: provider.id, upstreamName: "mock", inputPricePerMTok: "0.01", outputPricePerMTok: "0.02" } });
  const model = async (slug: string) => {
    const created = await mutate(gql, M.createModel, { input: { slug: `${slug}-${tag}`, displayName: slug } });
    await mutate(gql, M.addModelRoute, { input: { modelId: created.id, providerModelId: pm.id } });
    return created as { id: string; slug: string };
  };
  const chat = await model("propagation-chat");
  const granted = await model("propagation-granted");
  // Reached only through access to the provider: none of the users is granted it.
  const reached = await model("propagation-reached");
  const user = async (name: string) => {
    const created = await mutate(gql, M.createUser, { input: { email: `${name}-${tag}@bench.test`, name } });
    // On the large dataset the probed users sit in two of its groups (their grants count, no caps of their own).
    for (const groupId of groupIds) await mutate(gql, M.addMembers, { input: { groupId, userIds: [created.id] } });
    return created.id as string;
  };
  const key = async (userId: string) => (await mutate(gql, M.createKey, { input: { userId, name: "probe", scopes: ["INFERENCE"] } })) as { secret: string; apiKey: { id: string } };
  const [keyUser, grantUser, limitUser, loadUser, disabledUser, accessUser] = [
    await user("revoked-keys"),
    await user("revoked-grants"),
    await user("lowered-limits"),
    await user("load"),
    await user("disabled"),
    await user("removed-access"),
  ];
  for (const userId of [keyUser, limitUser, loadUser, disabledUser]) await mutate(gql, M.grant, { input: { modelId: chat.id, subject: { userId } } });
  await mutate(gql, M.setLimit, { input: { subject: { userId: limitUser }, requestsPerMinute: HIGH_LIMIT } });
  const grantKey = await key(grantUser);
  const limitKey = await key(limitUser);
  const loadKey = await key(loadUser);
  const disabledKey = await key(disabledUser);
  const accessKey = await key(accessUser);
  const giveAccess = async () => (await mutate(gql, M.setAccess, { input: { providerId: provider.id, subject: { userId: accessUser }, level: "USER" } })).id as string;
  let accessId = await giveAccess();
  let grantId = (await mutate(gql, M.grant, { input: { modelId: granted.id, subject: { userId: grantUser } } })).id as string;
  const keyIds = new Map<string, string>();

  const kinds: Record<Kind, TrialKind> = {
    "key revoked": {
      async prepare() {
        const created = await key(keyUser);
        keyIds.set(created.secret, created.apiKey.id);
        return { key: created.secret, model: chat.slug };
      },
      commit: (t) => mutate(gql, M.revokeKey, { id: keyIds.get(t.key) }),
      restore: async (t) => keyIds.delete(t.key),
    },
    "grant removed": {
      prepare: async () => ({ key: grantKey.secret, model: granted.slug }),
      commit: () => mutate(gql, M.revokeGrant, { id: grantId }),
      restore: async () => {
        grantId = (await mutate(gql, M.grant, { input: { modelId: granted.id, subject: { userId: grantUser } } })).id;
      },
    },
    "rate limit lowered": {
      prepare: async () => ({ key: limitKey.secret, model: chat.slug }),
      // The probes have sent more than one request in the last minute: a limit of 1 a minute refuses the next one.
      commit: () => mutate(gql, M.setLimit, { input: { subject: { userId: limitUser }, requestsPerMinute: 1 } }),
      restore: () => mutate(gql, M.setLimit, { input: { subject: { userId: limitUser }, requestsPerMinute: HIGH_LIMIT } }),
    },
    "user disabled": {
      prepare: async () => ({ key: disabledKey.secret, model: chat.slug }),
      commit: () => mutate(gql, M.disableUser, { id: disabledUser }),
      restore: () => mutate(gql, M.enableUser, { id: disabledUser }),
    },
    "provider access removed": {
      prepare: async () => ({ key: accessKey.secret, model: reached.slug }),
      commit: () => mutate(gql, M.removeAccess, { id: accessId }),
      restore: async () => {
        accessId = await giveAccess();
      },
    },
  };
  return { kinds, chat, loadKey: loadKey.secret };
}

interface PlaneCounters {
  full: number;
  changes: number;
  /** Cumulative tollgate_snapshot_change_lag_seconds buckets: [upper bound in ms, count]. */
  lag: Array<[number, number]>;
}

async function planeCounters(url: string): Promise<PlaneCounters> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const count = (update: string) => Number(new RegExp(`^tollgate_snapshot_updates_total\\{update="${update}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
  const lag = histogramBuckets(text, "tollgate_snapshot_change_lag_seconds").map(([le, n]): [number, number] => [le * 1000, n]);
  return { full: count("full"), changes: count("changes"), lag };
}

/** The bucket bound under which a share `p` of the observations between two readings fell ("≤ 20 ms"). */
function lagPercentile(before: PlaneCounters, after: PlaneCounters, p: number): string {
  const buckets = bucketsBetween(before.lag, after.lag);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return "n/a";
  const bound = buckets.find(([, n]) => n >= p * total)![0];
  return Number.isFinite(bound) ? `≤ ${ms(bound)}` : "> 10 s";
}

async function runPhase(env: BenchEnv, label: string, databaseUrl: string, ownerKey: string, groupIds: string[]): Promise<PhaseResult> {
  const channel = `${env.dataPlaneEnv.CHANGE_BUS_CHANNEL}:propagation-${label}`;
  const processEnv = { ...env.dataPlaneEnv, DATABASE_URL: databaseUrl, CHANGE_BUS_CHANNEL: channel };
  const stops: Array<() => Promise<void>> = [];
  const probes: InstanceProbe[] = [];
  try {
    // Not pinned: on core 1 it would queue behind the load generators and the mock, and its publish with it.
    const cp = await startStoppableChild("control plane", benchFile("../../control-plane/main.ts"), [], {
      core: null,
      env: { ...processEnv, RUN_DATA_PLANE: "false", CONTROL_PLANE_PORT: "0", TOLLGATE_AUTO_MIGRATE: "false" },
      ready: /control plane ready: (\S+)/,
    });
    stops.push(cp.stop);
    const gql = graphqlClient(cp.value, ownerKey);
    stops.push(() => gql.close());
    const { kinds, chat, loadKey } = await world(gql, env.mockUrl, label, groupIds);
    // What the instances say about resyncs (why a full rebuild happened, if one did).
    const resyncs: string[][] = Array.from({ length: INSTANCES }, () => []);
    const planes = await Promise.all(
      Array.from({ length: INSTANCES }, (_, i) =>
        startStoppableDataPlaneChild(`data plane ${label} ${i + 1}`, processEnv, (line) => {
          if (/resync|failed/.test(line)) resyncs[i]!.push(line.replace(/^\[tollgate data plane\] \[tollgate\] policy snapshot: /, ""));
        }),
      ),
    );
    for (const plane of planes) stops.push(plane.stop);
    const load: string[] = planes.map(() => "");
    const loaders: Array<() => Promise<void>> = [];
    for (const [i, plane] of planes.entries()) {
      const loader = await startStoppableChild(`steady load ${i + 1}`, benchFile("steady-load.ts"), ["--url", plane.value, "--model", chat.slug, "--key", loadKey, "--rate", LOAD_RATE], {
        core: CLIENT_CORE,
        ready: /^steady load running$/,
        onLine: (line) => {
          if (line.startsWith("{")) load[i] = line;
        },
      });
      loaders.push(loader.stop);
      stops.push(loader.stop);
    }
    const own = planes.map((plane) => new InstanceProbe(plane.value, 1, PROBE_INTERVAL_MS));
    probes.push(...own);
    const before = await Promise.all(planes.map((p) => planeCounters(p.value)));

    const latencies = Object.fromEntries(KINDS.map((k) => [k, planes.map(() => [] as number[])])) as Record<Kind, number[][]>;
    // The kinds take turns, so each trial has the instances (and this process's probes) to itself.
    for (let trial = 0; trial < TRIALS * KINDS.length; trial++) {
      const kind = KINDS[trial % KINDS.length]!;
      const change = kinds[kind];
      const target = await change.prepare();
      const aimedAt = performance.now();
      for (const probe of own) probe.aim(target);
      // Both instances serve the trial's state before the change is committed.
      const accepted = await Promise.all(own.map((p) => p.until(target, (s) => s === 200, aimedAt, TIMEOUT_MS)));
      if (accepted.some((t) => !Number.isFinite(t))) throw new Error(`${label} ${kind}: an instance never accepted the trial's state (${own.map((p) => p.firstUnexpected).join("; ")})`);
      const refused = own.map((p) => p.until(target, (s) => s === REFUSAL[kind], performance.now(), TIMEOUT_MS));
      await change.commit(target);
      const committed = performance.now();
      const at = await Promise.all(refused);
      for (const [i, t] of at.entries()) latencies[kind][i]!.push(t - committed);
      await change.restore(target);
      if ((trial + 1) % 150 === 0) env.log(`propagation ${label}: ${trial + 1}/${TRIALS * KINDS.length} trials`);
    }
    const after = await Promise.all(planes.map((p) => planeCounters(p.value)));
    for (const probe of probes) await probe.close();
    // Stopping the load generators makes them print their totals.
    for (const stop of loaders) await stop();
    return {
      label,
      latencies,
      fullRebuilds: after.map((a, i) => a.full - before[i]!.full),
      appliedChanges: after.map((a, i) => a.changes - before[i]!.changes),
      lag: after.map((a, i) => [lagPercentile(before[i]!, a, 0.5), lagPercentile(before[i]!, a, 0.99)]),
      probeRtt: own.map((p) => {
        const s = summarize(p.rtts);
        return [s.p50, s.p99];
      }),
      probeRequests: own.map((p) => p.requests),
      probeUnexpected: own.map((p) => (p.unexpected ? `${p.unexpected} (first: ${p.firstUnexpected})` : "0")),
      resyncs,
      load: load.map((line) => {
        if (!line) return "n/a";
        const l = JSON.parse(line) as { requests: number; errors: number; firstError: string | null; late: number };
        return `${l.requests} requests, ${l.errors} errors${l.firstError ? ` (first: ${l.firstError})` : ""}, ${l.late} sends skipped (all connections busy)`;
      }),
    };
  } finally {
    for (const probe of probes) await probe.close().catch(() => undefined);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

const signedMs = (n: number) => (Number.isFinite(n) ? `${n < 0 ? "−" : ""}${ms(Math.abs(n))}` : "never");

async function run(env: BenchEnv): Promise<SectionResult> {
  const phases: PhaseResult[] = [];
  phases.push(await runPhase(env, "small", env.database.url, await addOwnerKey(env.database.url, "propagation-owner@bench.test"), []));
  const dataset = await bigDataset(env);
  phases.push(await runPhase(env, "large", dataset.database.url, dataset.ownerKey, dataset.unlimitedGroupIds.slice(0, 2)));

  const rows = ["| dataset | change | instance | trials | p50 | p99 | max | refused on time |", "|---|---|---:|---:|---:|---:|---:|---:|"];
  const targets: Target[] = [];
  for (const phase of phases) {
    let worst = Number.NEGATIVE_INFINITY;
    for (const kind of KINDS) {
      for (const [i, samples] of phase.latencies[kind].entries()) {
        const s = summarize(samples);
        worst = Math.max(worst, s.p99);
        const onTime = samples.filter((t) => t <= TARGET_P99_MS).length;
        rows.push(`| ${phase.label} | ${kind} | ${i + 1} | ${s.n} | ${signedMs(s.p50)} | ${signedMs(s.p99)} | ${signedMs(s.max)} | ${onTime}/${s.n} |`);
      }
    }
    targets.push({
      label: `${phase.label} dataset: key revoke, grant removal, lowered limit (and user disabled, access removed) enforced on every instance within ${TARGET_P99_MS} ms p99 [Kong 5 s, LiteLLM 60 s cache]`,
      value: `worst p99 ${signedMs(worst)}`,
      pass: worst <= TARGET_P99_MS,
    });
  }
  const facts = phases.map(
    (p) =>
      `- ${p.label}: snapshot updates during the trials per instance: ${p.appliedChanges.map((n, i) => `#${i + 1} ${n} applied changes, ${p.fullRebuilds[i]} full rebuilds`).join("; ")}. ` +
      `Event published → applied on the instance (its tollgate_snapshot_change_lag_seconds histogram), p50 / p99: ${p.lag.map(([a, b], i) => `#${i + 1} ${a} / ${b}`).join("; ")}. ` +
      `Probe round trip p50 / p99: ${p.probeRtt.map(([a, b], i) => `#${i + 1} ${ms(a)} / ${ms(b)}`).join("; ")}. ` +
      `Probe requests: ${p.probeRequests.join(", ")} (unexpected answers: ${p.probeUnexpected.join(", ")}). Background load: ${p.load.join("; ")}.` +
      p.resyncs.map((lines, i) => (lines.length ? ` Instance #${i + 1} logged: ${lines.map((l) => `"${l}"`).join(", ")}.` : "")).join(""),
  );
  return {
    body: [
      datasetNote(await bigDataset(env)),
      `Per dataset: a control-plane process (unpinned) and ${INSTANCES} data-plane processes (on core 0; load generators and mock on core 1), one change-bus channel on Redis. ` +
        `Each instance carries a steady load (test/bench/steady-load.ts, ${LOAD_RATE} chat completions a second of another user, open loop) and is probed by this process ` +
        `one request at a time, back to back but at most one every ${PROBE_INTERVAL_MS} ms, on the trial's key (test/bench/instance-probe.ts). ${TRIALS} trials per change, the three kinds taking turns: ` +
        `a fresh key revoked (revokeApiKey → 401), a user's direct grant removed (revokeGrant → 403), a user's rate limit lowered to 1/min (setRateLimit → 429), ` +
        `a user disabled (disableUser → 401; enableUser restores it), a user's access to the provider of a model it is not granted removed (removeProviderAccess → 403). ` +
        `Before each trial both instances answer 200 for the trial's state; the time is from the GraphQL mutation's answer arriving here ("committed") to the first refusal ` +
        `arriving from that instance ("enforced"); a negative time means the instance refused before the control plane's answer got back. The small dataset is the bench's own ` +
        `policy; on the large one the probed users are also members of two of its groups.`,
      rows.join("\n"),
      facts.join("\n"),
    ],
    targets,
  };
}

export const propagationSection: BenchSection = { id: "propagation", title: "Policy propagation: committed change to enforcement on every instance", run };
