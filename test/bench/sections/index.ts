// Every benchmark section, in the order `npm run bench` runs them (BENCH_ONLY=id,id picks some).
import type { BenchSection } from "../section.ts";
import { latencySection } from "./latency.ts";
import { memoryStreamsSection } from "./memory-streams.ts";
import { peerSection } from "./peer.ts";
import { streamingSection } from "./streaming.ts";

export const SECTIONS: BenchSection[] = [latencySection, streamingSection, memoryStreamsSection, peerSection];
