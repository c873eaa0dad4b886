// Formats the benchmark report: the PASS/MISS targets and the machine and versions the numbers were measured on.
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import type { Target } from "./section.ts";

export function targetTable(list: Target[]): string {
  return ["| target | measured | result |", "|---|---:|---|", ...list.map((t) => `| ${t.label} | ${t.value} | ${t.pass === null ? "NO VERDICT" : t.pass ? "PASS" : "MISS"} |`)].join("\n");
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function machine(extra: Record<string, string>): Record<string, string> {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {}
  return {
    date: new Date().toISOString(),
    cpus: `${availableParallelism()} × ${cpu}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    "uWebSockets.js": packageVersion("uWebSockets.js"),
    undici: packageVersion("undici"),
    ioredis: packageVersion("ioredis"),
    tsx: packageVersion("tsx"),
    ...extra,
  };
}
