// Item 7: the users list (50 a page, with groups and grants) and effectivePolicy on the large dataset, over HTTP against
// a control-plane process (control-plane/main.ts, RUN_DATA_PLANE=false): p50/p95, and the SQL statements each request
// issues, counted by a second control-plane process that records Prisma's query events (counting-control-plane.ts).
import pg from "pg";
import { benchFile, GATEWAY_CORE, type BenchEnv } from "../bench-env.ts";
import { bigDataset, datasetNote } from "../dataset.ts";
import { ms } from "../format.ts";
import { graphqlClient } from "../graphql-client.ts";
import { cpuMs, startStoppableChild } from "../processes.ts";
import type { BenchSection, SectionResult, Target } from "../section.ts";
import { summarize } from "../stats.ts";

const REQUESTS = Number(process.env.BENCH_CP_REQUESTS ?? 100);
const PAGE_TARGET_MS = 50;

export const USERS_PAGE = /* GraphQL */ `
  query ($after: String, $search: String) {
    users(first: 50, after: $after, search: $search) {
      totalCount
      edges { node { id email name role status lastLoginAt keyCount groups { id name } grants { id model { slug } } allowedProviders { provider { name } level via } } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export const EFFECTIVE_POLICY = /* GraphQL */ `
  query ($userId: ID!) {
    effectivePolicy(userId: $userId) {
      ... on EffectivePolicy {
        active
        groups { name }
        models { slug reasons { kind via { kind name } } routes { providerName priority } }
        limits { dimension value source { kind name } }
        budgets { period cap source { kind name } }
      }
      ... on Error { code message }
    }
  }`;
// Last names match ~1 user in 50, first names ~1 in 40, "an" thousands, the last two one user or none.
const SEARCHES = ["smith", "turing", "ada", "an", "hopper.1", "dijkstra.2345@"];
// Best-effort last-used stamps (at most one a minute per key) are not part of what a query costs.
const STAMP = /^UPDATE .*"last(Used|Login)At"/;

interface Workload {
  name: string;
  samples: number[];
  /** CPU the control-plane process used during this workload's requests (ms, summed). */
  cpu: number;
}

async function sampleUsers(url: string): Promise<{ fewGroups: string; manyGroups: string; withAccess: string; random: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const byGroups = async (n: number) =>
      (await client.query(`SELECT m."userId" FROM "GroupMembership" m JOIN "User" u ON u.id = m."userId" WHERE u.status = 'ACTIVE' GROUP BY 1 HAVING count(*) = $1 LIMIT 1`, [n])).rows[0].userId as string;
    const withAccess = (await client.query(`SELECT "userId" FROM "ProviderAccess" WHERE "userId" IS NOT NULL LIMIT 1`)).rows[0].userId as string;
    const random = (await client.query(`SELECT id FROM "User" WHERE email LIKE '%@dataset.test' ORDER BY md5(id::text) LIMIT 200`)).rows.map((r) => r.id as string);
    return { fewGroups: await byGroups(1), manyGroups: await byGroups(5), withAccess, random };
  } finally {
    await client.end();
  }
}

async function run(env: BenchEnv): Promise<SectionResult> {
  const dataset = await bigDataset(env);
  const cpEnv = {
    DATABASE_URL: dataset.database.url,
    REDIS_URL: env.dataPlaneEnv.REDIS_URL!,
    CHANGE_BUS_CHANNEL: `${env.dataPlaneEnv.CHANGE_BUS_CHANNEL}:control-plane-section`,
    TOLLGATE_SECRET_KEY: env.secretKey.toString("hex"),
    RUN_DATA_PLANE: "false",
    CONTROL_PLANE_PORT: "0",
    TOLLGATE_AUTO_MIGRATE: "false",
  };
  // BENCH_CP_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/cp" profiles the timed control plane (written when it stops).
  const nodeArgs = (process.env.BENCH_CP_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
  const timed = await startStoppableChild("control plane", benchFile("../../control-plane/main.ts"), [], { core: GATEWAY_CORE, env: cpEnv, nodeArgs, ready: /control plane ready: (\S+)/ });
  const counting = await startStoppableChild("counting control plane", benchFile("counting-control-plane.ts"), [], { core: GATEWAY_CORE, env: cpEnv, ready: /counting control plane ready: (\S+ \S+)/ });
  const [countingUrl, statementsUrl] = counting.value.split(" ") as [string, string];
  const client = graphqlClient(timed.value, dataset.ownerKey);
  const countingClient = graphqlClient(countingUrl, dataset.ownerKey);
  try {
    const users = await sampleUsers(dataset.database.url);
    const page: Workload = { name: "users page (50, groups, grants, keys, providers), paging on", samples: [], cpu: 0 };
    const search: Workload = { name: "users search page (50)", samples: [], cpu: 0 };
    const policy: Workload = { name: "effectivePolicy of one user", samples: [], cpu: 0 };
    // CPU per request stays meaningful on a busy machine, where wall-clock percentiles mostly measure the others.
    const measured = async <T extends { ms: number }>(w: Workload, call: () => Promise<T>): Promise<T> => {
      const before = cpuMs(timed.pid);
      const answer = await call();
      w.cpu += cpuMs(timed.pid) - before;
      w.samples.push(answer.ms);
      return answer;
    };
    const cursors: Array<string | null> = [];
    let after: string | null = null;
    // Warm-up (JIT, pools, plans), then the three interleaved, one request at a time.
    for (let i = 0; i < 5; i++) {
      await client.request(USERS_PAGE, {});
      await client.request(EFFECTIVE_POLICY, { userId: users.random[i] });
    }
    for (let i = 0; i < REQUESTS; i++) {
      cursors.push(after);
      const answer: { data: any; ms: number } = await measured(page, () => client.request(USERS_PAGE, { after }));
      after = answer.data.users.pageInfo.hasNextPage ? answer.data.users.pageInfo.endCursor : null;
      await measured(search, () => client.request(USERS_PAGE, { search: SEARCHES[i % SEARCHES.length] }));
      await measured(policy, () => client.request(EFFECTIVE_POLICY, { userId: users.random[i % users.random.length] }));
    }

    // Statement counts: the same operations on pages and users of different content.
    const count = async (query: string, variables: Record<string, unknown>) => {
      const from = ((await (await fetch(statementsUrl)).json()) as { count: number }).count;
      const { data } = await countingClient.request(query, variables);
      // Stamps are fire-and-forget after authentication: give them a moment so they are seen (and left out) here.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const { statements } = (await (await fetch(`${statementsUrl}?from=${from}`)).json()) as { statements: string[] };
      return { data, statements: statements.filter((s) => !STAMP.test(s)).length };
    };
    const pageCounts: Array<[string, number]> = [];
    for (const [label, variables] of [
      ["page 1", {}],
      ["page 2", { after: cursors[1] }],
      [`page ${Math.min(60, REQUESTS)}`, { after: cursors[Math.min(59, REQUESTS - 1)] }],
      [`search "${SEARCHES[0]}"`, { search: SEARCHES[0] }],
      [`search "${SEARCHES[4]}"`, { search: SEARCHES[4] }],
    ] as const) {
      const { data, statements } = await count(USERS_PAGE, variables);
      const edges = data.users.edges as { node: { groups: unknown[]; grants: unknown[] } }[];
      const groups = edges.reduce((n, e) => n + e.node.groups.length, 0);
      const grants = edges.reduce((n, e) => n + e.node.grants.length, 0);
      pageCounts.push([`${label}: ${edges.length} users, ${groups} memberships, ${grants} grants`, statements]);
    }
    const empty = await count(USERS_PAGE, { search: "no-such-user-anywhere" });
    const policyCounts: Array<[string, number]> = [];
    for (const [label, userId] of [
      ["user in 1 group", users.fewGroups],
      ["user in 5 groups", users.manyGroups],
      ["user with provider access", users.withAccess],
    ] as const) {
      const { data, statements } = await count(EFFECTIVE_POLICY, { userId });
      const p = data.effectivePolicy;
      policyCounts.push([`${label}: ${p.groups.length} groups, ${p.models.length} models, ${p.limits.length} limits, ${p.budgets.length} budgets`, statements]);
    }

    const workloads = [page, search, policy];
    const constant = (counts: Array<[string, number]>) => counts.every(([, n]) => n === counts[0]![1]);
    const pageP95 = summarize(page.samples).p95;
    const targets: Target[] = [
      { label: `users page p95 ≤ ${PAGE_TARGET_MS} ms`, value: ms(pageP95), pass: pageP95 <= PAGE_TARGET_MS },
      { label: "users page: the same number of SQL statements whatever the page holds (no N+1)", value: pageCounts.map(([, n]) => n).join(", "), pass: constant(pageCounts) },
      { label: "effectivePolicy: the same number of SQL statements whatever the user holds", value: policyCounts.map(([, n]) => n).join(", "), pass: constant(policyCounts) },
    ];
    return {
      body: [
        datasetNote(dataset),
        `${REQUESTS} requests per operation, one at a time, the three operations interleaved, from this process (undici) to a control-plane process ` +
          `(control-plane/main.ts with RUN_DATA_PLANE=false, pinned to core 0) after 5 unrecorded warm-up rounds. The users page walks the table page after page ` +
          `(cursor pagination, ordered by email); searches cycle through ${SEARCHES.map((s) => `"${s}"`).join(", ")} (ILIKE on name and email); effectivePolicy asks for ` +
          `${users.random.length} different users. Every request authenticates its admin key (one lookup of key and user). ` +
          "CPU per request is the control-plane process's user + system time (/proc, 10 ms ticks summed over the requests): unlike the percentiles it hardly depends on what else the machine runs.",
        [
          "| operation | requests | p50 | p95 | max | control-plane CPU per request |",
          "|---|---:|---:|---:|---:|---:|",
          ...workloads.map((w) => {
            const s = summarize(w.samples);
            return `| ${w.name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.max)} | ${ms(w.cpu / s.n)} |`;
          }),
        ].join("\n"),
        `SQL statements per request (Prisma query events in test/bench/counting-control-plane.ts, the same server on the same database; key authentication included, ` +
          `the at-most-once-a-minute last-used stamps left out). An empty search result issues ${empty.statements} (no rows, so no nested queries).`,
        [
          "| request | statements |",
          "|---|---:|",
          ...pageCounts.map(([label, n]) => `| users: ${label} | ${n} |`),
          ...policyCounts.map(([label, n]) => `| effectivePolicy: ${label} | ${n} |`),
        ].join("\n"),
      ],
      targets,
    };
  } finally {
    await client.close();
    await countingClient.close();
    await timed.stop();
    await counting.stop();
  }
}

export const controlPlaneSection: BenchSection = { id: "control-plane", title: "Control plane: users list and effective policy on the large dataset", run };
