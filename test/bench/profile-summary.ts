// Reads a V8 .cpuprofile (BENCH_PROFILE_DIR, or node --cpu-prof) and prints self time by file (node_modules folded to
// their package) and by function, or with --callers NAME the call chains that lead to NAME's self time.
//   npx tsx test/bench/profile-summary.ts /tmp/prof/CPU.….cpuprofile [--top 30] [--callers writeUtf8String] [--depth 8]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "30" }, callers: { type: "string" }, depth: { type: "string", default: "8" } },
});
if (positionals.length !== 1) {
  console.error("usage: profile-summary.ts FILE.cpuprofile [--top N] [--callers NAME] [--depth N]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0]!, "utf8")) as Profile;
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
// Self time per node, in µs: each sample's time delta goes to the node it landed in.
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const VM_STATES = new Set(["(garbage collector)", "(idle)", "(program)", "(root)"]);
const place = (frame: CallFrame) => {
  if (VM_STATES.has(frame.functionName)) return frame.functionName;
  if (!frame.url) return "(native)";
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (pkg) return `pkg:${pkg[1]}`;
  return frame.url.replace(/^file:\/\/.*?\/(data-plane|control-plane|shared|test)\//, "$1/");
};
const label = (frame: CallFrame) =>
  VM_STATES.has(frame.functionName) ? frame.functionName : `${frame.functionName || "(anonymous)"} ${place(frame)}:${frame.lineNumber}`;

let busyUs = 0;
for (const [id, us] of selfUs) if (nodes.get(id)!.callFrame.functionName !== "(idle)") busyUs += us;
const share = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)} %`;
const top = Number(values.top);

function table(title: string, byKey: Map<string, number>): void {
  console.log(`\n${title}`);
  for (const [key, us] of [...byKey].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${share(us)}  ${key}`);
}

console.log(`busy ${(busyUs / 1000).toFixed(0)} ms (idle left out)`);
if (values.callers === undefined) {
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === "(idle)") continue;
    byFile.set(place(frame), (byFile.get(place(frame)) ?? 0) + us);
    byFunction.set(label(frame), (byFunction.get(label(frame)) ?? 0) + us);
  }
  table("self time by file", byFile);
  table("self time by function", byFunction);
} else {
  const chains = new Map<string, number>();
  for (const [id, us] of selfUs) {
    if (nodes.get(id)!.callFrame.functionName !== values.callers) continue;
    const chain: string[] = [];
    for (let at = parentOf.get(id); at !== undefined && chain.length < Number(values.depth); at = parentOf.get(at)) chain.push(label(nodes.get(at)!.callFrame));
    const key = chain.join(" < ");
    chains.set(key, (chains.get(key) ?? 0) + us);
  }
  table(`callers of ${values.callers} (share of all busy time)`, chains);
}
