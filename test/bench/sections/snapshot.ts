// Item 5's last line: how long the data plane's policy snapshot takes to build for the large dataset (cold, in a fresh
// process, and warm), how much memory it holds, and what applying one change costs instead of a rebuild.
import { GATEWAY_CORE, benchFile, type BenchEnv } from "../bench-env.ts";
import { bigDataset, datasetNote } from "../dataset.ts";
import { mib, ms } from "../format.ts";
import { runChild } from "../processes.ts";
import type { BenchSection, SectionResult } from "../section.ts";
import type { SnapshotBuildResult } from "../snapshot-build.ts";
import { summarize } from "../stats.ts";

const PROCESSES = Number(process.env.BENCH_SNAPSHOT_PROCESSES ?? 3);
const WARM = Number(process.env.BENCH_SNAPSHOT_WARM ?? 2);
const CHANGES = Number(process.env.BENCH_SNAPSHOT_CHANGES ?? 20);

async function run(env: BenchEnv): Promise<SectionResult> {
  const dataset = await bigDataset(env);
  const results: SnapshotBuildResult[] = [];
  for (let i = 0; i < PROCESSES; i++) {
    const out = await runChild(benchFile("snapshot-build.ts"), ["--warm", String(WARM), "--changes", String(CHANGES)], GATEWAY_CORE, { env: {
      DATABASE_URL: dataset.database.url,
      TOLLGATE_SECRET_KEY: env.secretKey.toString("hex"),
    } });
    results.push(JSON.parse(out) as SnapshotBuildResult);
    env.log(`snapshot build process ${i + 1}/${PROCESSES}: cold ${Math.round(results.at(-1)!.coldMs)} ms`);
  }
  const row = (label: string, samples: number[]) => {
    const s = summarize(samples);
    return `| ${label} | ${s.n} | ${ms(s.p50)} | ${ms(Math.min(...samples))} | ${ms(s.max)} |`;
  };
  const memory = (pick: (r: SnapshotBuildResult) => number) => mib(summarize(results.map(pick)).p50);
  const first = results[0]!;
  return {
    body: [
      datasetNote(dataset),
      [
        `Each of ${PROCESSES} fresh processes (test/bench/snapshot-build.ts, pinned to the gateway's core) builds the snapshot once cold (JIT, pool and caches cold), ` +
          `then ${WARM} times warm (data-plane/snapshot/build-snapshot.ts, the whole build: one REPEATABLE READ read of every table, then the in-memory maps), ` +
          `and applies ${CHANGES} one-user change events to it (data-plane/snapshot/snapshot-changes.ts, what the data plane now does per change instead of a rebuild). ` +
          `The snapshot holds ${first.keys} keys of ${first.principals} principals (keys of disabled users and revoked keys are left out).`,
      ].join(" "),
      [
        "| step | n | p50 | min | max |",
        "|---|---:|---:|---:|---:|",
        row("full build, cold (first in a process)", results.map((r) => r.coldMs)),
        row("full build, warm", results.flatMap((r) => r.warmMs)),
        row("… of which reading the rows from Postgres", results.flatMap((r) => r.loadMs)),
        row("applying one change (one user re-read and rebuilt)", results.flatMap((r) => r.changeMs)),
      ].join("\n"),
      [
        "| memory (p50 over the processes) | value |",
        "|---|---:|",
        `| heap held by the snapshot and its change index (after a full GC) | ${memory((r) => r.heapGrowthBytes)} |`,
        `| RSS growth, process holding the snapshot | ${memory((r) => r.rssGrowthBytes)} |`,
        `| peak RSS growth during the cold build | ${memory((r) => r.peakRssGrowthBytes)} |`,
      ].join("\n"),
    ],
    targets: [],
  };
}

export const snapshotSection: BenchSection = { id: "snapshot", title: "Policy snapshot: build time and memory on the large dataset", run };
