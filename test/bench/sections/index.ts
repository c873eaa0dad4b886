// Every benchmark section, in the order `npm run bench` runs them (BENCH_ONLY=id,id picks some).
import type { BenchSection } from "../section.ts";
import { latencySection } from "./latency.ts";
import { peerSection } from "./peer.ts";

export const SECTIONS: BenchSection[] = [latencySection, peerSection];
