// Every benchmark section, in the order `npm run bench` runs them (BENCH_ONLY=id,id picks some).
import type { BenchSection } from "../section.ts";
import { controlPlaneSection } from "./control-plane.ts";
import { latencySection } from "./latency.ts";
import { memoryStreamsSection } from "./memory-streams.ts";
import { peerSection } from "./peer.ts";
import { propagationSection } from "./propagation.ts";
import { snapshotSection } from "./snapshot.ts";
import { streamingSection } from "./streaming.ts";

export const SECTIONS: BenchSection[] = [
  latencySection,
  streamingSection,
  memoryStreamsSection,
  peerSection,
  snapshotSection,
  controlPlaneSection,
  propagationSection,
];
