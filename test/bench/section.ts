// The shape of one benchmark section: what it seeds, how it runs, and what it reports (tables, notes, PASS/MISS targets).
import type { BenchEnv } from "./bench-env.ts";
import type { SlugMap } from "./seed-policy.ts";

export interface Target {
  label: string;
  value: string;
  /** null: no verdict, because the reference arm itself was disturbed (the row says how). */
  pass: boolean | null;
}

export interface SectionResult {
  /** Markdown paragraphs and tables, in order, under the section's heading. */
  body: string[];
  targets: Target[];
}

export interface BenchSection {
  /** Short name for BENCH_ONLY (e.g. `latency`). */
  id: string;
  title: string;
  /** Slugs this section calls through the gateway, seeded before anything runs. */
  models?: SlugMap;
  run(env: BenchEnv): Promise<SectionResult>;
}
