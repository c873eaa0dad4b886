// Every benchmark section, in the order `npm run bench` runs them (BENCH_ONLY=id,id picks some).
import type { BenchSection } from "../section.ts";
import { controlPlaneSection } from "./control-plane.ts";
import { latencySection } from "./latency.ts";
import { propagationSection } from "./propagation.ts";
import { snapshotSection } from "./snapshot.ts";

export const SECTIONS: BenchSection[] = [latencySection, snapshotSection, controlPlaneSection, propagationSection];
