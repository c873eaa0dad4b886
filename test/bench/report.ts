// Formats the benchmark's results: the table, the PASS/MISS targets, and the machine and versions they were measured on.
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import type { ArmStats } from "./stats.ts";

export type Arm = "direct" | "bare" | "gateway";
export interface WorkloadResult {
  name: string;
  concurrency: number;
  arms: Record<Arm, ArmStats>;
}
export interface Target {
  label: string;
  value: string;
  pass: boolean;
}

const us = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} µs` : "n/a");
const signedUs = (n: number) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${Math.round(n)} µs` : "n/a");
const ratio = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : "n/a");

export function resultTable(results: WorkloadResult[]): string {
  const rows = [
    "| workload | arm | conc. | requests | errors | p50 | p99 | RPS | p50 − direct | p99 − direct | p99 ÷ direct | RPS ÷ direct |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const w of results) {
    const direct = w.arms.direct;
    for (const arm of ["direct", "bare", "gateway"] as const) {
      const s = w.arms[arm];
      const vs = arm === "direct" ? ["", "", "", ""] : [signedUs(s.p50Us - direct.p50Us), signedUs(s.p99Us - direct.p99Us), ratio(s.p99Us / direct.p99Us), ratio(s.rps / direct.rps)];
      rows.push(`| ${w.name} | ${arm} | ${w.concurrency} | ${s.requests} | ${s.errors} | ${us(s.p50Us)} | ${us(s.p99Us)} | ${Math.round(s.rps)} | ${vs.join(" | ")} |`);
    }
  }
  return rows.join("\n");
}

export function targets(results: WorkloadResult[]): Target[] {
  const find = (name: string, concurrency: number) => results.find((w) => w.name === name && w.concurrency === concurrency)!.arms;
  const c1 = find("no-delay mock", 1);
  const slow = find("20 ms mock", 64);
  const fast = find("no-delay mock", 64);
  const addedP50 = c1.gateway.p50Us - c1.direct.p50Us;
  const addedP99 = c1.gateway.p99Us - c1.direct.p99Us;
  const slowRatio = slow.gateway.rps / slow.direct.rps;
  const bareRatio = fast.gateway.rps / fast.bare.rps;
  return [
    { label: "added p50 at concurrency 1 ≤ 250 µs", value: signedUs(addedP50), pass: addedP50 <= 250 },
    { label: "added p99 at concurrency 1 ≤ 500 µs", value: signedUs(addedP99), pass: addedP99 <= 500 },
    { label: "20 ms mock, c64: gateway RPS ÷ direct RPS ≥ 0.95", value: ratio(slowRatio), pass: slowRatio >= 0.95 },
    { label: "no-delay mock, c64: gateway RPS ÷ bare-passthrough RPS ≥ 0.85", value: ratio(bareRatio), pass: bareRatio >= 0.85 },
  ];
}

export function targetTable(list: Target[]): string {
  return ["| target | measured | result |", "|---|---:|---|", ...list.map((t) => `| ${t.label} | ${t.value} | ${t.pass ? "PASS" : "MISS"} |`)].join("\n");
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
    tsx: packageVersion("tsx"),
    ...extra,
  };
}
